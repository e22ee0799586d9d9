// Writes through `edr listen` with the official InfluxDB 3 JavaScript client. The only change from writing to
// the local instance is the host: edr's address instead of InfluxDB's. `pnpm start` runs it with
//   INFLUX_HOST (default http://127.0.0.1:8182: edr listen), INFLUX_TOKEN (the local instance's token),
//   INFLUX_DATABASE (default mydb: the database edr listen replicates).
import { pathToFileURL } from "node:url";
import { InfluxDBClient, Point } from "@influxdata/influxdb3-client";

/** Where and as whom to write. */
export interface WriteTarget {
  /** edr listen's address, e.g. `http://127.0.0.1:8182`. */
  host: string;
  /** The local instance's token: edr forwards each write with the client's own token. */
  token: string;
  database: string;
}

/**
 * Writes two points of `cpu` through the client's default write (`POST /api/v2/write`) and one of `mem` with
 * `noSync` (`POST /api/v3/write_lp?…&no_sync=true`), stamped `timeNs`. Each write resolves once the local
 * instance stored it and edr has queued its lines on disk for the remote.
 */
export async function writePoints(target: WriteTarget, timeNs: bigint): Promise<void> {
  const client = new InfluxDBClient({ host: target.host, token: target.token, database: target.database });
  try {
    await client.write(
      [
        Point.measurement("cpu")
          .setTag("host", "edge1")
          .setFloatField("usage", 12.5)
          .setIntegerField("cores", 4)
          .setTimestamp(String(timeNs)),
        Point.measurement("cpu")
          .setTag("host", "edge2")
          .setFloatField("usage", 21)
          .setIntegerField("cores", 8)
          .setTimestamp(String(timeNs)),
      ],
      target.database,
    );
    await client.write(`mem,host=edge1 used=1024i,ok=true ${timeNs}`, target.database, undefined, {
      noSync: true,
    });
  } finally {
    await client.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const target = {
    host: process.env["INFLUX_HOST"] ?? "http://127.0.0.1:8182",
    token: process.env["INFLUX_TOKEN"] ?? "",
    database: process.env["INFLUX_DATABASE"] ?? "mydb",
  };
  await writePoints(target, BigInt(Date.now()) * 1_000_000n);
  console.log(`wrote 3 points through ${target.host} to ${target.database}`);
}
