// On-write replication through the replicator: the engine's process_writes, the intake that edr listen fills,
// downsampling exact across flushes and restarts, late points, and the drain loop. Two edr-testkit servers stand
// in for the local and the remote InfluxDB 3.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseWritesConfig } from "edr-args";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import type { ReceivedWrite } from "../src/listen/write-intake.js";
import { scanWriteLines } from "../src/listen/write-lines.js";
import { openReceivedLog } from "../src/on-write/received-log.js";
import { toEntry } from "../src/on-write/received-write.js";
import { createReplicator } from "../src/replicator.js";
import type { Replicator } from "../src/replicator-types.js";

const TOKEN = "onwrite-remote-secret-19";
const LOCAL_TOKEN = "onwrite-local-secret-28";
const MIN = 60_000;
const NS = 1_000_000n;
const T0 = Date.parse("2026-03-01T12:00:00Z");

let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let dir: string;
let log: string[];
/** The replicator's wall clock: set by the downsampling tests, the real one when undefined. */
let clock: number | undefined;
const open: Replicator[] = [];

beforeAll(async () => {
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: TOKEN });
});
afterAll(async () => {
  await Promise.all([local.close(), remote.close()]);
});
beforeEach(async () => {
  local.reset();
  remote.reset();
  dir = await mkdtemp(join(tmpdir(), "edr-onwrite-"));
  log = [];
  clock = T0;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
  expect(log.join("\n")).not.toContain(TOKEN);
  expect(log.join("\n")).not.toContain(LOCAL_TOKEN);
});

async function replicator(args = ""): Promise<Replicator> {
  const config = parseWritesConfig(
    `host=${remote.url},token=${TOKEN},database=central,local_host=${local.url},local_database=edge,` +
      `local_token=${LOCAL_TOKEN},queue_dir=${dir},max_retries=0${args}`,
    { env: {} },
  );
  const r = await createReplicator(config, {
    now: () => clock ?? Date.now(),
    logger: {
      info: (m) => log.push(`INFO ${m}`),
      warn: (m) => log.push(`WARN ${m}`),
      error: (m) => log.push(`ERROR ${m}`),
    },
  });
  open.push(r);
  return r;
}

async function reopen(r: Replicator, args = ""): Promise<Replicator> {
  open.splice(open.indexOf(r), 1);
  await r.close();
  return replicator(args);
}

const line = (host: string, v: number, ms: number) => ({
  table: "cpu",
  line: `cpu,host=${host} v=${v} ${BigInt(ms) * NS}`,
});

/** A gzipped write of `text` (nanosecond timestamps) as edr listen hands it to the intake. */
function receivedWrite(text: string): ReceivedWrite {
  const decoded = Buffer.from(text);
  return {
    wire: gzipSync(decoded),
    encoding: "gzip",
    lines: scanWriteLines(decoded),
    unit: "ns",
    stamp: "",
    stored: undefined,
  };
}

describe("processWrites (the engine's entry point)", () => {
  it("queues the rows of a WAL flush, transformed, sends them, and logs the seed's lines", async () => {
    // The local instance knows the table's columns (tags vs fields).
    await fetch(`${local.url}/api/v3/write_lp?db=edge`, {
      method: "POST",
      headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
      body: "cpu,host=a usage=1.5,n=1i 1\nmem,host=a used=1i 1",
    });
    const r = await replicator(",tables=cpu,tables_rename=cpu:cpu_remote,excluded_fields=cpu:n");
    const report = await r.processWrites([
      {
        table_name: "cpu",
        rows: [
          { host: "a", usage: 2.5, n: 2n, time: 2_000_000_000n },
          { host: "b", usage: 3.5, n: 3n, time: 3_000_000_000n },
        ],
      },
      { table_name: "mem", rows: [{ host: "a", used: 5n, time: 2_000_000_000n }] },
    ]);
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ queued: 2, replicated: 2, queuedAfter: 0 });
    expect(remote.points("central", "cpu_remote").map((p) => [p.tags, p.fields])).toEqual([
      [{ host: "a" }, { usage: { type: "float", value: 2.5 } }],
      [{ host: "b" }, { usage: { type: "float", value: 3.5 } }],
    ]);
    expect(remote.points("central", "mem")).toEqual([]);
    const id = report.taskId;
    expect(log).toEqual(
      expect.arrayContaining([
        `INFO [${id}] Starting data replication process`,
        `INFO [${id}] Queued 2 lines from cpu`,
        `INFO [${id}] Replicated 2 lines to remote instance`,
      ]),
    );
    expect(r.status()).toMatchObject({ state: "healthy", reconciled: true, mode: "writes" });
  });
});

describe("the intake (what edr listen fills)", () => {
  it("without downsampling, queues written lines durably as they come, transformed, and reports them at the flush", async () => {
    let r = await replicator(",tables_rename=cpu:cpu_remote");
    // The remote fails, so the lines stay queued across the restart below.
    remote.faults.failAll({ status: 503, retryAfter: 0 });
    const kept = await r.intake!.accept([line("a", 1, T0), line("b", 2, T0 + 1000)]);
    expect(kept).toBe(2);
    // On disk before accept resolved: nothing waits in an intake.
    expect(r.status()).toMatchObject({ intake: { entries: 0 }, lines: { accepted: 2, queued: 2 } });
    const report = await r.flush();
    expect(report).toMatchObject({ queued: 2, errors: [] });
    expect(log).toContain(`INFO [${report!.taskId}] Queued 2 lines from cpu`);
    // A second replicator on the same queue finds the lines there, once.
    r = await reopen(r);
    expect(r.status().lines.queuedAtStart).toBe(2);
    remote.faults.clear();
    await r.drain();
    expect(remote.points("central", "cpu_remote")).toHaveLength(2);
  });

  it("without downsampling, keeps whole writes as received before the answer; the flush queues their lines", async () => {
    const r = await replicator(",tables_rename=cpu:cpu_remote,tables=cpu");
    const t = BigInt(T0) * NS;
    const kept = await r.intake!.acceptWrite!(
      receivedWrite(`cpu,host=a v=1 ${t}\ndisk f=1 ${t}\ncpu,host=b v=2 ${t}`),
    );
    expect(kept).toBe(3);
    // Durable in the received log, not yet transformed or queued.
    expect(r.status()).toMatchObject({ intake: { entries: 3 }, lines: { accepted: 0, queued: 0 } });
    const report = await r.flush();
    expect(report).toMatchObject({ queued: 2, errors: [] });
    expect(log).toContain(`INFO [${report!.taskId}] Queued 2 lines from cpu`);
    expect(r.status()).toMatchObject({ intake: { entries: 0 }, lines: { accepted: 2 } });
    await r.drain();
    expect(remote.points("central", "cpu_remote").map((p) => p.tags)).toEqual([{ host: "a" }, { host: "b" }]);
  });

  it("reports the writes received as one call per flush interval, not one per write", async () => {
    clock = undefined;
    const r = await replicator();
    r.start({ flushIntervalMs: 200 });
    const t = BigInt(Date.now()) * NS;
    for (let i = 0; i < 60; i++) {
      await r.intake!.acceptWrite!(receivedWrite(`cpu,host=a v=${i} ${t + BigInt(i)}`));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await r.flush();
    const calls = log.filter((l) => l.endsWith("Starting data replication process")).length;
    // ~1 s of writes at 200 ms an interval: 5 to 7 calls, each reporting its share.
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(9);
    expect(r.status().lines).toMatchObject({ accepted: 60 });
  });

  it("leaves out the tables that are not replicated, and reports a full queue", async () => {
    const r = await replicator(",tables=cpu,max_size=1");
    const kept = await r.intake!.accept([
      line("a", 1, T0),
      { table: "disk", line: `disk,host=a used=1i ${BigInt(T0) * NS}` },
    ]);
    expect(kept).toBe(1);
    expect(r.status().lines).toMatchObject({ accepted: 1, queued: 1 });
    expect(r.intake!.refusal()).toBeUndefined();
  });

  it("moves on what an intake of an earlier run with downsampling left behind", async () => {
    let r = await replicator(",aggregate_interval=1min");
    await r.intake!.accept([line("a", 1, T0), line("a", 3, T0 + 1000)]);
    // Downsampling is turned off: the lines waiting for their bucket go on to the queue as they are.
    r = await reopen(r);
    await r.flush();
    await r.drain();
    expect(remote.points("central", "cpu").map((p) => p.fields["v"])).toEqual([
      { type: "float", value: 1 },
      { type: "float", value: 3 },
    ]);
  });
});

describe("downsampling on write", () => {
  const args = ",aggregate_interval=1min,aggregate_grace=10s,aggregations=cpu:v@sum";

  it("takes into its buckets the writes a run without downsampling left in its received log", async () => {
    // A run without downsampling was killed with two writes received and not yet moved to the queue.
    const opened = await openReceivedLog({
      dir,
      name: "writes",
      maxBytes: 1 << 30,
      fsync: "always",
      onWarning: () => {},
    });
    await opened.queue.append([
      toEntry(receivedWrite(`${line("a", 1, T0 + 1000).line}\n${line("a", 2, T0 + 2000).line}`)),
    ]);
    await opened.queue.append([toEntry(receivedWrite(line("a", 4, T0 + 3000).line))]);
    await opened.queue.close();
    const r = await replicator(args);
    clock = T0 + MIN + 11_000;
    await r.flush();
    await r.drain();
    expect(remote.points("central", "cpu").map((p) => [p.timeNs, p.fields["v"]])).toEqual([
      [BigInt(T0) * NS, { type: "float", value: 7 }],
    ]);
    // Moved once: a later start finds the log empty.
    const again = await reopen(r, args);
    await again.flush();
    await again.drain();
    expect(remote.points("central", "cpu")).toHaveLength(1);
  });

  it("emits a bucket once it has closed, from every point of every flush", async () => {
    const r = await replicator(args);
    // Points of the 12:00 bucket arrive over three flushes.
    await r.intake!.accept([line("a", 1, T0 + 1000), line("a", 2, T0 + 20_000)]);
    await r.flush();
    await r.intake!.accept([line("a", 3, T0 + 40_000)]);
    clock = T0 + MIN + 5000; // past the bucket's end, within the grace
    await r.flush();
    await r.drain();
    expect(remote.points("central", "cpu")).toEqual([]);
    await r.intake!.accept([line("a", 4, T0 + 59_000), line("a", 100, T0 + MIN + 1000)]);
    clock = T0 + MIN + 11_000; // the grace is over
    await r.flush();
    await r.drain();
    expect(remote.points("central", "cpu").map((p) => [p.timeNs, p.fields["v"]])).toEqual([
      [BigInt(T0) * NS, { type: "float", value: 10 }],
    ]);
    // One write only for that bucket: never a partial bucket first.
    expect(remote.requests.filter((q) => q.path === "/api/v3/write_lp")).toHaveLength(1);
    // The last flush's lines stay in the intake until the 12:01 bucket is emitted too.
    expect(r.status().intake).toMatchObject({ entries: 2, emittedUntil: new Date(T0 + MIN).toISOString() });
  });

  it("rebuilds open buckets after a restart and emits each bucket once", async () => {
    let r = await replicator(args);
    await r.intake!.accept([line("a", 1, T0 + 1000), line("b", 7, T0 + 2000)]);
    await r.flush();
    r = await reopen(r, args);
    await r.intake!.accept([line("a", 2, T0 + 30_000)]);
    clock = T0 + MIN + 10_000;
    await r.flush();
    await r.drain();
    // The bucket of 12:01 opens and the first restart's emission is not repeated.
    await r.intake!.accept([line("a", 5, T0 + MIN + 1000)]);
    r = await reopen(r, args);
    clock = T0 + 2 * MIN + 10_000;
    await r.flush();
    await r.drain();
    const got = remote.points("central", "cpu").map((p) => [p.tags["host"], p.timeNs, p.fields["v"]]);
    expect(got).toEqual([
      ["a", BigInt(T0) * NS, { type: "float", value: 3 }],
      ["b", BigInt(T0) * NS, { type: "float", value: 7 }],
      ["a", BigInt(T0 + MIN) * NS, { type: "float", value: 5 }],
    ]);
    expect(remote.requests.filter((q) => q.path === "/api/v3/write_lp")).toHaveLength(2);
  });

  it("counts a line written twice while its bucket is open once, as the local instance stores it once", async () => {
    const r = await replicator(args);
    // A client retries a write whose answer it lost: the same lines reach the intake twice, across a restart too.
    await r.intake!.accept([line("a", 1, T0 + 1000), line("a", 2, T0 + 2000)]);
    await r.flush();
    await r.intake!.accept([line("a", 1, T0 + 1000), line("a", 2, T0 + 2000)]);
    const reopened = await reopen(r, args);
    await reopened.intake!.accept([line("a", 2, T0 + 2000)]);
    clock = T0 + MIN + 10_000;
    await reopened.flush();
    await reopened.drain();
    expect(remote.points("central", "cpu").map((p) => p.fields["v"])).toEqual([{ type: "float", value: 3 }]);
    expect(reopened.status().lines.duplicates).toBe(3);
  });

  it("sets a late point aside with its reason instead of merging it into an emitted bucket", async () => {
    const r = await replicator(args);
    await r.intake!.accept([line("a", 1, T0 + 1000)]);
    clock = T0 + MIN + 10_000;
    await r.flush();
    await r.intake!.accept([line("a", 50, T0 + 2000)]);
    await r.flush();
    await r.drain();
    expect(remote.points("central", "cpu").map((p) => p.fields["v"])).toEqual([{ type: "float", value: 1 }]);
    const status = r.status();
    expect(status.lines.late).toBe(1);
    expect(status.perTable["cpu"]).toMatchObject({ late: 1 });
    const letters = (await readFile(join(dir, "edr_dead_letter_writes_late.jsonl"), "utf8"))
      .trim()
      .split("\n");
    expect(letters).toHaveLength(1);
    const letter = JSON.parse(letters[0]!) as { table: string; status: number; line: string; reason: string };
    expect([letter.table, letter.status, letter.line]).toEqual([
      "cpu",
      0,
      `cpu,host=a v=50 ${BigInt(T0 + 2000) * NS}`,
    ]);
    expect(letter.reason).toMatch(
      /^late: the bucket \[2026-03-01T12:00:00.000Z, 2026-03-01T12:01:00.000Z\) of cpu/,
    );
    expect(log.some((l) => /1 late points for buckets already emitted/.test(l))).toBe(true);
  });
});

describe("the drain loop", () => {
  it("empties the queue after the remote comes back, without new writes", async () => {
    clock = undefined;
    const r = await replicator();
    remote.faults.failAll({ status: 503, retryAfter: 0 });
    r.start({ flushIntervalMs: 50 });
    await r.intake!.accept([line("a", 1, T0), line("a", 2, T0 + 1)]);
    await until(() => r.status().state === "degraded");
    expect(r.status().reason).toMatch(/the last lines sent were not delivered: .*503/);
    remote.faults.clear();
    await until(() => r.status().lines.delivered === 2, 20_000);
    expect(r.status()).toMatchObject({ state: "healthy", reconciled: true, lines: { queued: 0 } });
    expect(r.status().retriesByStatus["503"]).toBeUndefined(); // max_retries=0: given up, not retried in the call
    expect(r.status().answersByStatus["503"]).toBeGreaterThan(0);
    expect(remote.points("central", "cpu")).toHaveLength(2);
  });
});

describe("close", () => {
  it("ends promptly while the remote is down, keeping every line queued for the next start", async () => {
    clock = undefined;
    let r = await replicator();
    remote.faults.failAll({ status: 503, retryAfter: 1 });
    r.start({ flushIntervalMs: 20 });
    await r.intake!.accept([line("a", 1, T0), line("a", 2, T0 + 1)]);
    await until(() => r.status().state === "degraded");
    const started = Date.now();
    open.splice(open.indexOf(r), 1);
    await r.close();
    expect(Date.now() - started).toBeLessThan(3000);
    remote.faults.clear();
    r = await replicator();
    expect(r.status().lines.queuedAtStart).toBe(2);
    await r.drain();
    expect(remote.points("central", "cpu")).toHaveLength(2);
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
