// The write-through endpoint in front of a real InfluxDB 1.6.7 (a migration path: 1.x as the local
// instance). 1.x keeps the good lines of a bad batch and does not say which: what is queued must be exactly
// what it stored, point by point.
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { createInfluxDB1Database, readInfluxDB1Points, sortStoredPoints, writeInfluxDB1 } from "edr-testkit";
import type { ReplicatorLogger } from "../src/logger.js";
import { createListenServer, type ListenServer } from "../src/listen/listen-server.js";
import { FakeIntake } from "./listen-fake-intake.js";
import { errorOf, linesToPoints, post } from "./listen-helpers.js";

const NOW_MS = 1_700_000_000_123;
const influx = inject("influxdb1Url");
let counter = 0;
let db: string;
let intake: FakeIntake;
let listen: ListenServer;
let logged: string[];

beforeEach(async () => {
  db = `listen_${process.pid}_${counter++}`;
  await createInfluxDB1Database(influx, db);
  intake = new FakeIntake();
  logged = [];
  const logger: ReplicatorLogger = {
    info: (m) => logged.push(m),
    warn: (m) => logged.push(m),
    error: (m) => logged.push(m),
  };
  listen = await createListenServer({
    localUrl: influx,
    database: db,
    intake,
    port: 0,
    now: () => NOW_MS,
    logger,
  });
});

afterEach(async () => {
  await listen.close();
});

/** What InfluxDB 1.6.7 stored, beside what was queued, in one order. */
async function storedAndQueued() {
  return {
    stored: sortStoredPoints(await readInfluxDB1Points(influx, db)),
    queued: sortStoredPoints(linesToPoints(intake.texts())),
  };
}

describe("edr listen in front of InfluxDB 1.6.7", () => {
  it("queues exactly what 1.6.7 stored of a batch with bad lines and a type conflict, and answers as 1.6.7", async () => {
    expect((await post(listen.url, `/write?db=${db}`, "cpu,host=a usage=1 1700000000000000000")).status).toBe(
      204,
    );
    const batch = [
      "cpu,host=a usage=2 1700000000000000001",
      'cpu,host=b usage="text" 1700000000000000002', // conflicts with the stored float column
      "cpu,host=c", // no fields
      "cpu,host=c usage=3,temp=20i 1700000000000000003",
      "",
      "# a comment",
      "mem,host=a used=10i 1700000000000000004",
      "cpu,host=d usage=bad 1700000000000000005", // not a value
      'log,host=a msg="two\nlines",n=1i 1700000000000000006',
      "mem,host=b used=11i", // no timestamp: stamped
      "cpu,host=e usage=4 1700000000000000007",
    ].join("\n");
    // The same batch straight to 1.6.7 in a database of its own: the answer edr must pass back.
    const directDb = `${db}_direct`;
    await createInfluxDB1Database(influx, directDb);
    await writeInfluxDB1(influx, directDb, "cpu,host=a usage=1 1700000000000000000");
    const direct = await writeInfluxDB1(
      influx,
      directDb,
      batch.replace("used=11i", `used=11i ${NOW_MS}000000`),
    );
    const answer = await post(listen.url, `/write?db=${db}`, batch);
    expect(direct.status).toBe(400);
    expect(answer.status).toBe(400);
    expect(answer.body).toBe(direct.body);
    expect(errorOf(answer.body)).toMatch(/^partial write: /);

    const { stored, queued } = await storedAndQueued();
    expect(queued).toEqual(stored);
    expect(stored).toEqual(sortStoredPoints(await readInfluxDB1Points(influx, directDb)));
    expect(intake.texts()).toEqual([
      "cpu,host=a usage=1 1700000000000000000",
      "cpu,host=a usage=2 1700000000000000001",
      "cpu,host=c usage=3,temp=20i 1700000000000000003",
      "mem,host=a used=10i 1700000000000000004",
      'log,host=a msg="two\nlines",n=1i 1700000000000000006',
      `mem,host=b used=11i ${NOW_MS}000000`,
      "cpu,host=e usage=4 1700000000000000007",
    ]);
    expect(logged.some((l) => l.includes("found by sending") && l.includes("6 stored, 3 refused"))).toBe(
      true,
    );
  });

  it("finds the lines stored when a type conflict inside the batch failed one shard and not another", async () => {
    // 1.6.7 writes each shard (a week of time) on its own: the conflict fails the first shard's lines,
    // the line a century later lands in another shard and is stored, and the answer is only "field type conflict".
    const batch = ["m,t=a f=1 1", "m,t=a f=1 1000000000000000000", "m,t=b f=2i 3", "m,t=c f=3 4"].join("\n");
    const answer = await post(listen.url, `/write?db=${db}`, batch);
    expect(answer.status).toBe(400);
    expect(answer.body).toBe('{"error":"field type conflict"}\n');
    const { stored, queued } = await storedAndQueued();
    expect(queued).toEqual(stored);
    expect(stored.map((p) => p.timeNs)).toContain(1000000000000000000n);
  });

  it("queues nothing when every line is bad (1.6.7 stores none and says so)", async () => {
    const answer = await post(listen.url, `/write?db=${db}`, "cpu,host=a\ncpu usage=\n");
    expect(answer.status).toBe(400);
    expect(errorOf(answer.body)).toMatch(/^unable to parse/);
    expect(intake.lines).toEqual([]);
    expect(await readInfluxDB1Points(influx, db)).toEqual([]);
  });

  it.each([
    ["n", "1700000000000000001", 1700000000000000001n],
    ["u", "1700000000000002", 1700000000000002000n],
    ["ms", "1700000000003", 1700000000003000000n],
    ["s", "1700000004", 1700000004000000000n],
    ["m", "28333334", 1700000040000000000n],
    ["h", "472223", 1700002800000000000n],
  ])("precision=%s: 1.6.7 stores %s where the queued line says", async (precision, timestamp, ns) => {
    const answer = await post(
      listen.url,
      `/write?db=${db}&precision=${precision}`,
      `cpu v=1 ${timestamp}\ncpu v=2`,
    );
    expect(answer.status).toBe(204);
    const { stored, queued } = await storedAndQueued();
    expect(queued).toEqual(stored);
    expect(stored.map((p) => p.timeNs)).toContain(ns);
    expect(intake.texts()[0]).toBe(`cpu v=1 ${ns}`);
  });

  it("stamps a line with trailing spaces and no timestamp, which 1.6.7 would stamp with its own clock", async () => {
    expect((await post(listen.url, `/write?db=${db}&precision=ms`, "cpu v=1  \ncpu,t=x v=2\t")).status).toBe(
      204,
    );
    const { stored, queued } = await storedAndQueued();
    expect(queued).toEqual(stored);
    expect(stored.map((p) => p.timeNs)).toEqual([BigInt(NOW_MS) * 1_000_000n, BigInt(NOW_MS) * 1_000_000n]);
  });
});
