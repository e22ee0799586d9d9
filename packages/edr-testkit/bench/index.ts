// pnpm bench: how fast the test server ingests writes, so that benches of the packages above it (edr-sink)
// measure themselves and not the server. One JSON line per figure; each the best of RUNS rounds (the machine
// is shared), measured beside its baseline in the same run: gunzip + split of the same bodies, the least any
// server must do with them.
import * as http from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { startInfluxDB3Server } from "../src/index.js";

const RUNS = Number(process.env.RUNS ?? 5);
const LINES = Number(process.env.LINES ?? 400_000);
// ~5 MB a body: edr-sink's batches are bounded by 100,000 lines or 6 MiB, whichever comes first.
const BATCH_LINES = 40_000;
const IN_FLIGHT = 4; // edr-sink's default requests in flight
const SERIES = 1000;

/** ~120-byte lines: 2 tags, 5 fields (3 floats, an integer, a string), ns timestamps, 1,000 series. */
function makeBodies(): Buffer[] {
  const bodies: Buffer[] = [];
  for (let start = 0; start < LINES; start += BATCH_LINES) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(LINES, start + BATCH_LINES); i++) {
      const s = i % SERIES;
      lines.push(
        `cpu,host=server-${String(s).padStart(4, "0")},region=eu-west-${s % 7} usage_user=${(i % 1000) / 8},usage_system=3.25,load=0.${i % 100},procs=${i}i,status="ok" ${1_700_000_000_000_000_000n + BigInt(i)}`,
      );
    }
    // Level 1, as edr-sink sends.
    bodies.push(gzipSync(lines.join("\n"), { level: 1 }));
  }
  return bodies;
}

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
}

function post(agent: http.Agent, url: URL, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        path: "/api/v3/write_lp?db=bench&precision=nanosecond",
        method: "POST",
        agent,
        headers: { "content-encoding": "gzip", "content-length": body.length },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 204 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Seconds to POST every body (IN_FLIGHT at a time) to a fresh store, and read the points back. */
async function timeServer(server: Awaited<ReturnType<typeof startInfluxDB3Server>>, bodies: Buffer[]) {
  server.reset();
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const url = new URL(server.url);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < bodies.length) await post(agent, url, bodies[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
}

/** Seconds to read the points back (the first read builds them from the stored lines). */
function timePoints(server: Awaited<ReturnType<typeof startInfluxDB3Server>>): number {
  const started = performance.now();
  const stored = server.points("bench", "cpu").length;
  if (stored !== LINES) throw new Error(`the server stored ${stored} of ${LINES} points`);
  return (performance.now() - started) / 1000;
}

function timeBaseline(bodies: Buffer[]): number {
  const started = performance.now();
  let n = 0;
  for (const body of bodies) n += gunzipSync(body).toString("utf8").split("\n").length;
  if (n !== LINES) throw new Error(`split gave ${n} lines`);
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const bodies = makeBodies();
  const server = await startInfluxDB3Server();
  try {
    await timeServer(server, bodies); // warm up
    timePoints(server);
    timeBaseline(bodies);
    let serverBest = Infinity;
    let pointsBest = Infinity;
    let baselineBest = Infinity;
    for (let r = 0; r < RUNS; r++) {
      baselineBest = Math.min(baselineBest, timeBaseline(bodies));
      serverBest = Math.min(serverBest, await timeServer(server, bodies));
      pointsBest = Math.min(pointsBest, timePoints(server));
      server.reset(); // let the points go before the next baseline
    }
    emit("testkit.write_lines_per_s", LINES / serverBest, "lines/s");
    emit("testkit.baseline_gunzip_split_lines_per_s", LINES / baselineBest, "lines/s");
    emit("testkit.write_over_baseline_time_ratio", serverBest / baselineBest, "x");
    // Reading is not on the write path, but tests wait for it: points() of everything just written.
    emit("testkit.points_read_per_s", LINES / pointsBest, "points/s");
    emit("testkit.points_read_over_baseline_time_ratio", pointsBest / baselineBest, "x");
  } finally {
    await server.close();
  }
}

await main();
