import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScheduledConfig } from "edr-args";
import { startInfluxDB3Server, type InfluxDB3TestServer, type StoredPoint } from "edr-testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createReplicator } from "../src/replicator.js";
import type { Replicator } from "../src/replicator-types.js";

const TOKEN = "remote-secret-token-77";
const LOCAL_TOKEN = "local-secret-token-55";
const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;
const NS = 1_000_000n;

/** Scheduled replication against two edr-testkit servers standing in for the local and the remote InfluxDB 3. */
describe("scheduled replication (SQL reader, edr-testkit servers)", () => {
  let local: InfluxDB3TestServer;
  let remote: InfluxDB3TestServer;
  let dir: string;
  let log: string[];
  let replicator: Replicator | undefined;

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
    dir = await mkdtemp(join(tmpdir(), "edr-scheduled-"));
    log = [];
  });
  afterEach(async () => {
    await replicator?.close();
    replicator = undefined;
    // The tokens never reach a log line.
    expect(log.join("\n")).not.toContain(TOKEN);
    expect(log.join("\n")).not.toContain(LOCAL_TOKEN);
  });

  async function write(
    server: InfluxDB3TestServer,
    db: string,
    lines: string[],
    token: string,
  ): Promise<void> {
    const response = await fetch(
      `${server.url}/api/v3/write_lp?db=${encodeURIComponent(db)}&precision=nanosecond`,
      {
        method: "POST",
        body: lines.join("\n"),
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(response.status, await response.text()).toBe(204);
  }

  async function open(args: string): Promise<Replicator> {
    const config = parseScheduledConfig(
      `host=${remote.url},token=${TOKEN},database=central,local_host=${local.url},local_database=edge,` +
        `local_token=${LOCAL_TOKEN},queue_dir=${dir},max_retries=1,${args}`,
      { env: {} },
    );
    replicator = await createReplicator(config, {
      logger: {
        info: (m) => log.push(`INFO ${m}`),
        warn: (m) => log.push(`WARN ${m}`),
        error: (m) => log.push(`ERROR ${m}`),
      },
    });
    return replicator;
  }

  /** One point every 10 s from `fromMs` to `toMs` for each series. */
  function series(table: string, fromMs: number, toMs: number, tags: string[]): string[] {
    const lines: string[] = [];
    for (let t = fromMs; t < toMs; t += 10_000) {
      for (const tag of tags)
        lines.push(`${table},host=${tag} v=${(t - T0) / 10_000}i,f=${(t - T0) / 1000}.5 ${BigInt(t) * NS}`);
    }
    return lines;
  }

  const times = (points: StoredPoint[]): number[] => points.map((p) => Number(p.timeNs / NS));

  it("copies the window of each table, transformed, and logs the seed's lines", async () => {
    await write(
      local,
      "edge",
      [
        ...series("cpu", T0, T0 + 10 * MIN, ["a", "b"]),
        ...series("mem", T0, T0 + 10 * MIN, ["a"]),
        ...series("skip", T0, T0 + 10 * MIN, ["a"]),
      ],
      LOCAL_TOKEN,
    );
    const r = await open(
      "tables=cpu.mem,window=5min,excluded_fields=cpu:f,tables_rename=mem:memory,field_renames=mem:v@value",
    );
    const report = await r.processScheduledCall(new Date(T0 + 10 * MIN));
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ queued: 90, replicated: 90, deadLettered: 0, queuedAfter: 0, refused: 0 });
    const cpu = remote.points("central", "cpu");
    expect(cpu).toHaveLength(60);
    expect(Math.min(...times(cpu))).toBe(T0 + 5 * MIN);
    expect(Math.max(...times(cpu))).toBe(T0 + 10 * MIN - 10_000);
    expect(Object.keys(cpu[0]!.fields)).toEqual(["v"]);
    const memory = remote.points("central", "memory");
    expect(memory).toHaveLength(30);
    expect(memory[0]!.fields["value"]).toEqual({ type: "integer", value: 30n });
    expect(remote.points("central", "skip")).toHaveLength(0);
    const status = r.status();
    expect(status.reconciled).toBe(true);
    expect(status.state).toBe("healthy");
    expect(status.lines).toMatchObject({ accepted: 90, delivered: 90, queued: 0, deadLettered: 0 });
    const id = report.taskId;
    expect(log).toEqual(
      expect.arrayContaining([
        `INFO [${id}] Starting execution with scheduled time 2026-01-01 00:10:00 UTC`,
        `INFO [${id}] Starting data replication process`,
        `INFO [${id}] Queued 90 lines from cpu,mem`,
        `INFO [${id}] Replicated 90 lines to remote instance`,
      ]),
    );
    expect(
      log.some((l) => new RegExp(`^INFO \\[${id}\\] Finished execution in \\d+ms \\d+us \\d+ns$`).test(l)),
    ).toBe(true);
  });

  it("reads every user table when tables= is absent, hostile names included", async () => {
    const names = ['a"b', "x'; DROP TABLE y; --", "Mixed Case", "dots.in.name"];
    const escaped = (name: string) => name.replaceAll(" ", "\\ ").replaceAll(",", "\\,");
    await write(
      local,
      "edge",
      names.map((n, i) => `${escaped(n)},t=x v=${i}i ${BigInt(T0 + MIN) * NS}`),
      LOCAL_TOKEN,
    );
    const r = await open("window=5min");
    const report = await r.processScheduledCall(new Date(T0 + 5 * MIN));
    expect(report.errors).toEqual([]);
    for (const [i, name] of names.entries()) {
      expect(remote.points("central", name).map((p) => p.fields["v"])).toEqual([
        { type: "integer", value: BigInt(i) },
      ]);
    }
  });

  it("downsamples into buckets inside the window, one point per bucket and series", async () => {
    await write(local, "edge", series("cpu", T0, T0 + 10 * MIN, ["a"]), LOCAL_TOKEN);
    const r = await open("tables=cpu,window=10min,aggregate_interval=1min,aggregations=cpu:v@max");
    const report = await r.processScheduledCall(new Date(T0 + 10 * MIN));
    expect(report.errors).toEqual([]);
    const cpu = remote.points("central", "cpu");
    expect(cpu).toHaveLength(10);
    expect(times(cpu)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + i * MIN));
    // Bucket 0 holds v = 0..5 and f = 0.5, 10.5, …, 50.5.
    expect(cpu[0]!.fields).toEqual({ v: { type: "integer", value: 5n }, f: { type: "float", value: 25.5 } });
  });

  it("catches up the windows missed while it was down, oldest first, leaving no gap", async () => {
    await write(local, "edge", series("cpu", T0, T0 + 3 * 60 * MIN, ["a"]), LOCAL_TOKEN);
    let r = await open("tables=cpu,window=1min");
    await r.processScheduledCall(new Date(T0 + 2 * MIN));
    await r.close();
    // Down for two and a half hours; the next run copies what it missed, in one-hour chunks, then its window.
    r = await open("tables=cpu,window=1min");
    const report = await r.processScheduledCall(new Date(T0 + 150 * MIN));
    expect(report.errors).toEqual([]);
    const got = times(remote.points("central", "cpu")).sort((a, b) => a - b);
    expect(got).toEqual(Array.from({ length: 150 * 6 - 6 }, (_, i) => T0 + MIN + i * 10_000));
    expect(
      log.some((l) =>
        /Catching up cpu: 3 chunks from 2026-01-01T00:02:00.000Z to 2026-01-01T02:30:00.000Z/.test(l),
      ),
    ).toBe(true);
    expect(JSON.parse(await readFile(join(dir, "edr_watermarks_schedule.json"), "utf8"))).toEqual({
      version: 1,
      tables: { cpu: String(BigInt(T0 + 150 * MIN) * NS) },
    });
  });

  it("with catch_up=false copies only the window, as the Python plugin does", async () => {
    await write(local, "edge", series("cpu", T0, T0 + 60 * MIN, ["a"]), LOCAL_TOKEN);
    const r = await open("tables=cpu,window=1min,catch_up=false");
    await r.processScheduledCall(new Date(T0 + 2 * MIN));
    await r.processScheduledCall(new Date(T0 + 30 * MIN));
    expect(remote.points("central", "cpu")).toHaveLength(12);
  });

  it("a failed read leaves the watermark where it was, and the next run copies what it missed", async () => {
    await write(local, "edge", series("cpu", T0, T0 + 10 * MIN, ["a"]), LOCAL_TOKEN);
    const r = await open("tables=cpu,window=1min");
    await r.processScheduledCall(new Date(T0 + 2 * MIN));
    local.faults.failNext(1, { status: 500, on: "query" });
    const failed = await r.processScheduledCall(new Date(T0 + 3 * MIN));
    expect(failed.errors.join("\n")).toMatch(/cpu/);
    expect(log.some((l) => /^ERROR .*Error during replication: table cpu/.test(l))).toBe(true);
    const next = await r.processScheduledCall(new Date(T0 + 4 * MIN));
    expect(next.errors).toEqual([]);
    expect(remote.points("central", "cpu")).toHaveLength(18);
  });

  it("delivers through 429 and 503, dead-letters what the remote refuses, and reconciles", async () => {
    await write(local, "edge", series("cpu", T0, T0 + 5 * MIN, ["a", "b"]), LOCAL_TOKEN);
    // The remote already holds cpu.v as a string: every line of host=b… conflicts? No: all lines carry v, so all would.
    await write(remote, "central", [`other,host=z v="x" 1`], TOKEN);
    remote.faults.failNext(1, { status: 503, retryAfter: 0 });
    remote.faults.failNext(1, { status: 429, retryAfter: 0 });
    const r = await open("tables=cpu.other,window=5min");
    await write(local, "edge", [`other,host=a v=1i ${BigInt(T0 + MIN) * NS}`], LOCAL_TOKEN);
    const report = await r.processScheduledCall(new Date(T0 + 5 * MIN));
    expect(report).toMatchObject({ queued: 61, replicated: 60, deadLettered: 1, queuedAfter: 0 });
    const letters = (await readFile(join(dir, "edr_dead_letter_schedule.jsonl"), "utf8")).trim().split("\n");
    expect(letters).toHaveLength(1);
    expect(JSON.parse(letters[0]!)).toMatchObject({ table: "other", status: 400 });
    const status = r.status();
    expect(status.reconciled).toBe(true);
    expect(status.deadLettersByStatus).toEqual({ "400": 1 });
  });

  it("halts on 401 keeping every line queued, and a restart delivers them", async () => {
    await write(local, "edge", series("cpu", T0, T0 + 5 * MIN, ["a"]), LOCAL_TOKEN);
    remote.faults.failAll({ status: 401 });
    let r = await open("tables=cpu,window=5min");
    const report = await r.processScheduledCall(new Date(T0 + 5 * MIN));
    expect(report.halted).toMatch(/^halted: 401/);
    expect(report.queuedAfter).toBe(30);
    expect(r.status().state).toMatch(/^halted: 401/);
    expect(r.status().reconciled).toBe(true);
    await r.close();
    remote.faults.clear();
    r = await open("tables=cpu,window=5min");
    expect(r.status().lines.queuedAtStart).toBe(30);
    const drained = await r.drain();
    expect(drained).toMatchObject({ delivered: 30, remaining: 0, stalled: undefined });
    expect(remote.points("central", "cpu")).toHaveLength(30);
    expect(r.status().reconciled).toBe(true);
  });
});
