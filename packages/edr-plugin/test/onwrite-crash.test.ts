// On-write downsampling across flushes and across kill -9: `edr listen` in a child process, downsampling
// with 2 s buckets, is SIGKILLed at random moments while buckets are open and restarted on the same queue
// directory; clients keep writing points of the same buckets before, between and after the kills. At the end
// every bucket closes and drains, and the remote (an edr-testkit server) must hold exactly one point per series
// and bucket, with the aggregates the test computes itself from what it wrote, each sent with one value only.
//
// A write whose answer is lost because edr was killed is sent again by the client, as edr's own error answers
// tell clients to do. When the kill came after the write's lines were durable in the intake, the retry puts
// them there a second time: the bucket must still count them once, as the local instance stores them once.
// After each kill the test reads the intake (while no edr runs) to know which lost answers were such writes;
// the second test makes that case happen for sure, with a proxy that keeps edr's answer while edr is killed.
//
// The third: a point written again with other values (same series and time) while its bucket is open counts with
// its newest values, as the local instance keeps only the newest.
//
// Replay the random test with its seed (the kill schedule and the values; the timing of the writes still
// varies): EDR_CRASH_SEED=<seed> npx vitest run --project edr-plugin test/onwrite-crash.test.ts
// EDR_CRASH_DEBUG=1 also prints, after each kill, the intake's lines that are there twice.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createQueue } from "edr-queue";
import { mulberry32, startInfluxDB3Server, type InfluxDB3TestServer, type StoredPoint } from "edr-testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { intakeName } from "../src/on-write/intake.js";
import type { ReplicatorStatus } from "../src/replicator-types.js";
import { startEdr, type EdrChild } from "./edr-child.js";
import { startRemoteProxy, type RemoteProxy } from "./real-remote-proxy.js";

const REMOTE_TOKEN = "crash-remote-secret-60221";
const LOCAL_TOKEN = "crash-local-secret-14142";
const MS = 1_000_000n;
const SEED = Number(process.env["EDR_CRASH_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
/** 2 s buckets; a bucket waits 8 s after its end (longer than a kill, a restart and a retry take together). */
const BUCKET_MS = 2_000;
const GRACE_MS = 8_000;
const BUCKET_NS = BigInt(BUCKET_MS) * MS;
const AGGREGATIONS = "aggregations=cpu:s@sum$c@count$mn@min$mx@max";
const HOSTS = ["a", "b", "c", "d"];

let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let dir: string | undefined;
const children: EdrChild[] = [];
const proxies: RemoteProxy[] = [];

beforeAll(async () => {
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
});
afterAll(async () => {
  await Promise.all([local.close(), remote.close()]);
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
    await child.exited;
  }
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  local.reset();
  remote.reset();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Starts `edr listen` with downsampling on `queueDir` and resolves with it and its URL once it listens. */
async function startListen(queueDir: string, graceMs = GRACE_MS): Promise<{ child: EdrChild; url: string }> {
  const child = startEdr(
    [
      "listen",
      "--listen",
      "127.0.0.1:0",
      "--local-url",
      local.url,
      "--local-db",
      "edge",
      "--flush-interval",
      "1s",
      "--trigger-arguments",
      `host=${remote.url},database=central,queue_dir=${queueDir},` +
        `aggregate_interval=${BUCKET_MS / 1000}s,aggregate_grace=${graceMs / 1000}s,${AGGREGATIONS}`,
    ],
    { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN },
  );
  children.push(child);
  const ready = /point your clients at (http:\/\/127\.0\.0\.1:\d+)/;
  await child.waitFor(ready);
  return { child, url: ready.exec(child.stderr())![1]! };
}

async function statusOf(url: string): Promise<ReplicatorStatus> {
  return (await (await fetch(`${url}/status`)).json()) as ReplicatorStatus;
}

async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`seed ${SEED}: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** How often each line is in the intake, unacknowledged; read while no edr runs (the lock of a dead owner is taken over). */
async function intakeLineCounts(queueDir: string): Promise<Map<string, number>> {
  const queue = await createQueue({ dir: queueDir, name: intakeName("writes"), fsync: "never" });
  const counts = new Map<string, number>();
  try {
    for (;;) {
      const batch = await queue.read({ maxEntries: 10_000 });
      if (batch.entries.length === 0) break;
      for (const { line } of batch.entries) counts.set(line, (counts.get(line) ?? 0) + 1);
    }
  } finally {
    await queue.close();
  }
  return counts;
}

/** One point the test wrote: series `host`, time, and the value put in all four fields. */
interface Written {
  host: string;
  timeNs: bigint;
  v: number;
}

/** One bucket's aggregates as the remote holds them. */
interface Aggregate {
  s: bigint;
  c: bigint;
  mn: bigint;
  mx: bigint;
}

const bucketKey = (host: string, startNs: bigint): string => `${host}@${startNs}`;
const floorBucket = (ns: bigint): bigint => ns - (((ns % BUCKET_NS) + BUCKET_NS) % BUCKET_NS);

/** Aggregates per series and bucket of `points`, each counted `times(point)` times. */
function aggregates(
  points: Iterable<Written>,
  times: (p: Written) => number = () => 1,
): Map<string, Aggregate> {
  const out = new Map<string, Aggregate>();
  for (const p of points) {
    const n = times(p);
    if (n === 0) continue;
    const key = bucketKey(p.host, floorBucket(p.timeNs));
    const v = BigInt(p.v);
    const a = out.get(key);
    if (a === undefined) out.set(key, { s: v * BigInt(n), c: BigInt(n), mn: v, mx: v });
    else {
      a.s += v * BigInt(n);
      a.c += BigInt(n);
      if (v < a.mn) a.mn = v;
      if (v > a.mx) a.mx = v;
    }
  }
  return out;
}

function remoteAggregates(points: readonly StoredPoint[]): Map<string, Aggregate> {
  const out = new Map<string, Aggregate>();
  const int = (p: StoredPoint, key: string): bigint => {
    const f = p.fields[key];
    if (f?.type !== "integer") throw new Error(`field ${key} of ${JSON.stringify(p)} is not an integer`);
    return f.value;
  };
  for (const p of points) {
    const key = bucketKey(p.tags["host"] ?? "?", p.timeNs);
    expect(out.has(key), `seed ${SEED}: two points for the bucket ${key} at the remote`).toBe(false);
    out.set(key, { s: int(p, "s"), c: int(p, "c"), mn: int(p, "mn"), mx: int(p, "mx") });
  }
  return out;
}

const show = (m: Map<string, Aggregate>): Record<string, string> =>
  Object.fromEntries(
    [...m]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, a]) => [k, `s=${a.s} c=${a.c} mn=${a.mn} mx=${a.mx}`]),
  );

/**
 * Each series and time the remote was sent, with the distinct field texts it was sent with: a bucket sent
 * first partial, then complete, would show two.
 */
function sentValues(server: InfluxDB3TestServer): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  for (const request of server.requests) {
    if (request.method !== "POST" || !request.path.startsWith("/api/v3/write_lp")) continue;
    for (const line of request.body.split("\n")) {
      if (!line.startsWith("cpu,") && !line.startsWith("cpu ")) continue;
      const [series, fields, time] = line.split(" ");
      const key = `${series} ${time}`;
      let set = values.get(key);
      if (set === undefined) values.set(key, (set = new Set()));
      set.add(fields ?? "");
    }
  }
  return values;
}

/** One attempt to send a write: the edr process it went to, and what came of it. */
interface Attempt {
  generation: number;
  /** `204`, another status, `refused` (no connection: nothing sent), `lost` (sent, no answer: edr was killed). */
  outcome: string;
  /** For a lost attempt: whether its lines were found in the intake after the kill (so they were taken). */
  tookLines?: boolean;
  /** When the answer came (epoch ms). */
  atMs?: number;
}

interface Write {
  id: number;
  lines: string[];
  points: Written[];
  attempts: Attempt[];
}

describe("on-write downsampling across flushes and kill -9 (edr listen in a child process)", () => {
  it(
    `emits one exact point per series and bucket across flushes and 14 kills at random moments (seed ${SEED})`,
    { timeout: 120_000 },
    async () => {
      console.log(`[onwrite-crash] seed ${SEED} (replay with EDR_CRASH_SEED=${SEED})`);
      const random = mulberry32(SEED);
      const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
      const queueDir = (dir = await mkdtemp(join(tmpdir(), "edr-onwrite-crash-")));
      const KILLS = 14;
      const WRITERS = 3;

      let generation = 0;
      let current: { child: EdrChild; url: string } | undefined = await startListen(queueDir);
      let readyWaiters: (() => void)[] = [];
      const waitReady = async (): Promise<{ url: string; generation: number }> => {
        while (current === undefined) await new Promise<void>((resolve) => readyWaiters.push(resolve));
        return { url: current.url, generation };
      };

      const writes: Write[] = [];
      const used = new Set<string>();
      let stop = false;
      let nextId = 0;
      // Each writer has its own random source (from the seed), so the kill schedule draws the same numbers.
      const writer = async (w: number): Promise<void> => {
        const rnd = mulberry32((SEED ^ (0x9e3779b9 * (w + 1))) >>> 0);
        const pick = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
        while (!stop) {
          const id = nextId++;
          const points: Written[] = [];
          const lines: string[] = [];
          const count = pick(1, 8);
          // Points from up to 1.5 s ago: a bucket fills over several flushes, and some writes straddle two.
          const nowMs = Date.now();
          for (let i = 0; i < count; i++) {
            const host = HOSTS[pick(0, HOSTS.length - 1)]!;
            let timeNs: bigint;
            do timeNs = BigInt(nowMs - pick(0, 1500)) * MS + BigInt(pick(0, 999_999));
            while (used.has(`${host} ${timeNs}`));
            used.add(`${host} ${timeNs}`);
            const v = pick(-1000, 1000);
            points.push({ host, timeNs, v });
            lines.push(`cpu,host=${host} s=${v}i,c=${v}i,mn=${v}i,mx=${v}i ${timeNs}`);
          }
          const write: Write = { id, lines, points, attempts: [] };
          writes.push(write);
          const body = lines.join("\n");
          for (;;) {
            const target = await waitReady();
            const attempt: Attempt = { generation: target.generation, outcome: "pending" };
            write.attempts.push(attempt);
            try {
              const res = await fetch(`${target.url}/api/v3/write_lp?db=edge&precision=nanosecond`, {
                method: "POST",
                headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
                body,
              });
              await res.arrayBuffer();
              attempt.outcome = String(res.status);
              attempt.atMs = Date.now();
            } catch (error) {
              const code = (error as { cause?: { code?: string } }).cause?.code;
              attempt.outcome = code === "ECONNREFUSED" ? "refused" : "lost";
            }
            if (attempt.outcome === "204") break;
            // Sent again, as edr's error answers ask (to the restarted edr, once it listens).
            if (attempt.outcome !== "lost" && attempt.outcome !== "refused") await sleep(200);
            else await sleep(20);
          }
          await sleep(pick(0, 60));
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

      // The kills: each at a random moment while writes are in flight and buckets are open.
      const killLog: string[] = [];
      for (let k = 1; k <= KILLS; k++) {
        await sleep(between(250, 1300));
        const victim = current;
        current = undefined;
        victim.child.process.kill("SIGKILL");
        await victim.child.exited;
        // What the killed process had taken: which writes in flight (now lost to their clients) reached the intake.
        const counts = await intakeLineCounts(queueDir);
        if (process.env["EDR_CRASH_DEBUG"] !== undefined) {
          const twice = [...counts].filter(([, copies]) => copies > 1).map(([line]) => line);
          const ids = new Set(twice.map((line) => writes.find((w) => w.lines.includes(line))?.id));
          console.log(
            `kill ${k}: ${counts.size} lines in the intake, ${twice.length} twice (writes ${[...ids].join(", ")})`,
          );
        }
        const lost = writes.filter((w) => {
          const last = w.attempts.at(-1);
          return last?.generation === generation && (last.outcome === "pending" || last.outcome === "lost");
        });
        let took = 0;
        for (const write of lost) {
          const attempt = write.attempts.findLast((a) => a.generation === generation)!;
          // Wait for the client to see the cut connection.
          await until(
            `write ${write.id}'s client seeing the kill`,
            () => attempt.outcome !== "pending",
            5_000,
          );
          if (attempt.outcome !== "lost") continue;
          // Earlier attempts of this write that were taken are still in the intake (their bucket is open).
          const before = write.attempts.filter(
            (a) => a !== attempt && (a.outcome === "204" || a.tookLines === true),
          ).length;
          const found = Math.min(...write.lines.map((line) => counts.get(line) ?? 0));
          const most = Math.max(...write.lines.map((line) => counts.get(line) ?? 0));
          expect(found, `seed ${SEED}: write ${write.id} is only partly in the intake`).toBe(most);
          expect(
            found - before,
            `seed ${SEED}: write ${write.id}: ${found} copies in the intake`,
          ).toBeGreaterThanOrEqual(0);
          expect(found - before).toBeLessThanOrEqual(1);
          attempt.tookLines = found - before === 1;
          if (attempt.tookLines) took++;
        }
        killLog.push(
          `kill ${k}: ${lost.filter((w) => w.attempts.at(-1)?.outcome === "lost").length} answers lost, ${took} of them after the intake took the lines`,
        );
        generation++;
        current = await startListen(queueDir);
        for (const wake of readyWaiters.splice(0)) wake();
        readyWaiters = [];
      }
      await sleep(1000);
      stop = true;
      await Promise.all(writers);
      const lastWriteMs = Date.now();
      const url = current.url;
      console.log(`[onwrite-crash] seed ${SEED}: ${writes.length} writes; ${killLog.join("; ")}`);

      // Every bucket closes (its end plus the grace, then a flush), and the queue drains.
      await until(
        "every bucket emitted and delivered",
        async () => {
          const status = await statusOf(url);
          return (
            Date.now() > lastWriteMs + GRACE_MS + 1000 &&
            status.intake?.entries === 0 &&
            status.lines.queued === 0
          );
        },
        GRACE_MS + 20_000,
      );
      const status = await statusOf(url);
      expect(status, `seed ${SEED}`).toMatchObject({ state: "healthy", reconciled: true });
      expect(status.lines, `seed ${SEED}: a point came later than the test's grace allows`).toMatchObject({
        late: 0,
        refused: 0,
        deadLettered: 0,
        queued: 0,
      });

      // Every write was answered 204 in the end; the local instance holds each point once.
      const points = writes.flatMap((w) => w.points);
      expect(writes.every((w) => w.attempts.at(-1)?.outcome === "204")).toBe(true);
      const stored = local.points("edge", "cpu");
      expect(stored.length, `seed ${SEED}: points at the local instance`).toBe(points.length);
      const asLocal = aggregates(
        stored.map((p) => {
          const v = p.fields["s"];
          return {
            host: p.tags["host"]!,
            timeNs: p.timeNs,
            v: Number(v?.type === "integer" ? v.value : NaN),
          };
        }),
      );
      const correct = aggregates(points);
      expect(show(asLocal)).toEqual(show(correct));

      // The proof is about buckets really built across flushes and restarts: points of one bucket answered
      // 204 by two edr processes, and over more than one flush interval.
      const generationsOf = new Map<string, Set<number>>();
      const answeredAt = new Map<string, { first: number; last: number }>();
      for (const write of writes) {
        const last = write.attempts.at(-1)!;
        for (const p of write.points) {
          const key = bucketKey(p.host, floorBucket(p.timeNs));
          let set = generationsOf.get(key);
          if (set === undefined) generationsOf.set(key, (set = new Set()));
          set.add(last.generation);
          const span = answeredAt.get(key);
          if (span === undefined) answeredAt.set(key, { first: last.atMs!, last: last.atMs! });
          else span.last = Math.max(span.last, last.atMs!);
        }
      }
      const acrossRestarts = [...generationsOf.values()].filter((g) => g.size >= 2).length;
      const acrossFlushes = [...answeredAt.values()].filter((s) => s.last - s.first > 1500).length;
      console.log(
        `[onwrite-crash] seed ${SEED}: ${correct.size} buckets, ${acrossRestarts} written to by two edr processes or more, ` +
          `${acrossFlushes} over more than 1.5 s; last process: ${status.lines.duplicates} duplicate lines counted once`,
      );
      expect(acrossRestarts, `seed ${SEED}: buckets written to across a restart`).toBeGreaterThanOrEqual(5);
      expect(acrossFlushes, `seed ${SEED}: buckets written to over several flushes`).toBeGreaterThanOrEqual(
        5,
      );

      // One point per series and bucket at the remote, each sent with one value only (never a partial bucket
      // first): a re-send after a kill repeats the same value.
      const remoteAgg = remoteAggregates(remote.points("central", "cpu"));
      expect([...remoteAgg.keys()].sort(), `seed ${SEED}: buckets at the remote`).toEqual(
        [...correct.keys()].sort(),
      );
      const sent = sentValues(remote);
      expect(sent.size, `seed ${SEED}: series and times sent to the remote`).toBe(correct.size);
      const changed = [...sent].filter(([, values]) => values.size > 1);
      expect(changed, `seed ${SEED}: buckets sent with more than one value`).toEqual([]);

      // Every point counted once in its bucket: every write answered 204, none lost across the kills, and the
      // retried writes the intake had taken before the kill not twice.
      const retaken = writes.filter((w) => w.attempts.some((a) => a.tookLines === true));
      expect(
        show(remoteAgg),
        `seed ${SEED}: the remote's buckets (${retaken.length} writes reached the intake twice: ids ${retaken.map((w) => w.id).join(", ") || "none"})`,
      ).toEqual(show(correct));
    },
  );

  it("counts a write once when its answer is lost in a kill after the intake took it and the client sends it again", async () => {
    const queueDir = (dir = await mkdtemp(join(tmpdir(), "edr-onwrite-crash-")));
    const grace = 4_000;
    let edr = await startListen(queueDir, grace);
    // A proxy between the client and edr keeps the answer of the write it is told to, as the network does when
    // the server dies with the answer on its way.
    const proxy = await startRemoteProxy(edr.url);
    proxies.push(proxy);
    // Five points of the current bucket (open for 4 s at least: a kill and a restart take about 1 s), in two writes.
    const startNs = floorBucket(BigInt(Date.now()) * MS);
    const line = (host: string, v: number, offsetMs: number) =>
      `cpu,host=${host} s=${v}i,c=${v}i,mn=${v}i,mx=${v}i ${startNs + BigInt(offsetMs) * MS}`;
    const first = [line("a", 1, 1), line("a", 2, 2), line("a", 3, 3)].join("\n");
    const second = [line("a", 10, 4), line("a", 20, 5)].join("\n");
    const write = (url: string, body: string) =>
      fetch(`${url}/write?db=edge&precision=ns`, {
        method: "POST",
        headers: { authorization: `Token ${LOCAL_TOKEN}` },
        body,
      });
    expect((await write(proxy.url, first)).status).toBe(204);
    const swallowed = proxy.downAfterWrites(1);
    await expect(write(proxy.url, second)).rejects.toThrow();
    await swallowed;
    // edr answered 204 (the proxy kept it): the lines are durable in the intake. Now edr dies.
    expect(proxy.stats.storedButCut).toBe(1);
    edr.child.process.kill("SIGKILL");
    await edr.child.exited;
    const counts = await intakeLineCounts(queueDir);
    expect([counts.get(line("a", 10, 4)), counts.get(line("a", 20, 5))]).toEqual([1, 1]);

    // The client never heard back: it sends the write again, to the restarted edr.
    edr = await startListen(queueDir, grace);
    expect((await write(edr.url, second)).status).toBe(204);
    expect(local.points("edge", "cpu")).toHaveLength(5);

    await until(
      "the bucket emitted and delivered",
      async () =>
        remote.points("central", "cpu").length === 1 && (await statusOf(edr.url)).lines.queued === 0,
      BUCKET_MS + grace + 10_000,
    );
    // As the local instance stores them: 5 points, sum 36 (not 7 points, sum 66).
    expect(remote.points("central", "cpu")).toEqual([
      {
        measurement: "cpu",
        tags: { host: "a" },
        fields: {
          s: { type: "integer", value: 36n },
          c: { type: "integer", value: 5n },
          mn: { type: "integer", value: 1n },
          mx: { type: "integer", value: 20n },
        },
        timeNs: startNs,
      },
    ]);
    const status = await statusOf(edr.url);
    expect(status.lines).toMatchObject({ duplicates: 2, late: 0, queued: 0 });
    expect(status.reconciled).toBe(true);
  });

  it("aggregates a point written again with another value once, with the newest value, as the local instance keeps it", async () => {
    const queueDir = (dir = await mkdtemp(join(tmpdir(), "edr-onwrite-crash-")));
    const grace = 2_000;
    const edr = await startListen(queueDir, grace);
    const startNs = floorBucket(BigInt(Date.now()) * MS);
    const at = (offsetMs: number) => startNs + BigInt(offsetMs) * MS;
    const line = (v: number, timeNs: bigint) => `cpu,host=a s=${v}i,c=${v}i,mn=${v}i,mx=${v}i ${timeNs}`;
    const write = async (body: string) =>
      (
        await fetch(`${edr.url}/api/v3/write_lp?db=edge&precision=nanosecond`, {
          method: "POST",
          headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
          body,
        })
      ).status;
    expect(await write([line(1, at(1)), line(2, at(2))].join("\n"))).toBe(204);
    // The same point (series and time) again, corrected: InfluxDB keeps one point, with the newest value.
    expect(await write(line(7, at(1)))).toBe(204);
    const stored = local.points("edge", "cpu");
    expect(stored.map((p) => [p.timeNs, p.fields["s"]])).toEqual([
      [at(1), { type: "integer", value: 7n }],
      [at(2), { type: "integer", value: 2n }],
    ]);
    await until(
      "the bucket emitted and delivered",
      async () =>
        remote.points("central", "cpu").length === 1 && (await statusOf(edr.url)).lines.queued === 0,
      BUCKET_MS + grace + 10_000,
    );
    // Not sum 10, count 3, min 1 (the rewritten point counted twice): the bucket of the points the local
    // instance stores, what scheduled-mode downsampling reading the local instance would send.
    const [point] = remote.points("central", "cpu");
    expect(
      point!.fields,
      "a point overwritten while its bucket is open counts with its newest value",
    ).toEqual({
      s: { type: "integer", value: 9n },
      c: { type: "integer", value: 2n },
      mn: { type: "integer", value: 2n },
      mx: { type: "integer", value: 7n },
    });
  });
});
