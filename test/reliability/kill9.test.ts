// kill -9: the replicator, in both modes, with downsampling on and off, runs as the `edr` command in a child
// process under a steady write load (4 writers, about 2,400 lines/s) and is killed with SIGKILL at seeded
// random moments, 200–1500 ms after it became ready, 14 times per scenario (56 in all), each time started again
// on the same queue directory. Writers send every write again until it is answered 204, as real clients do
// when an answer is lost. At the end, with a real InfluxDB 1.6.7 as the remote (v1 writes, through a proxy that
// records every write edr sent):
//
// - the remote holds every line the local instance accepted (without downsampling: exactly the local points;
//   with it: the aggregates the test computes itself from the local points, bucket by bucket, as DATE_BIN);
// - none with a value other than the one written (or computed), and no write edr ever sent carried one;
// - order per series kept: where a series and time was written several times with different values, the
//   remote holds the last one (the remote keeps the newest value it received for a series and time);
// - the last process's `/status` reconciles, nothing was refused, dead-lettered or late, and the dead-letter
//   and late-letter files are empty.
//
// The four scenarios:
//   on write, no downsampling:   edr listen in front of InfluxDB 1.6.7 (v1 /write forwarded)
//   on write, 2 s buckets:       edr listen in front of the edr-testkit server (v3 /api/v3/write_lp)
//   scheduled, no downsampling:  edr schedule every:1s reading the edr-testkit server (SQL)
//   scheduled, 2 s buckets:      edr schedule every:1s reading InfluxDB 1.6.7 (InfluxQL)
//
// Replay a run with its seed (the kill moments and the values; the writers' timing still varies):
//   EDR_KILL9_SEED=<seed> npx vitest run --project reliability test/reliability/kill9.test.ts
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  createInfluxDB1Database,
  readInfluxDB1Points,
  sortStoredPoints,
  startInfluxDB3Server,
  type StoredPoint,
} from "edr-testkit";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { compareSent, compareStore, firstFew, versionsOf } from "./helpers/compare.js";
import { expectStore, modelVersions } from "./helpers/expect-store.js";
import { aggregationsArgument, bucketStart, expectedBuckets } from "./helpers/downsampling.js";
import {
  KilledAndRestarted,
  LISTEN_READY,
  SCHEDULE_READY,
  SCHEDULE_STATUS,
  fetchStatus,
  type EdrCommand,
  type ReplicatorStatus,
} from "./helpers/edr-process.js";
import { fieldsText, startLoad, type WriteTarget } from "./helpers/load.js";
import { readQueueDir } from "./helpers/queue-files.js";
import { startRecordingProxy } from "./helpers/recording-proxy.js";
import { Rng, seedFrom } from "./helpers/seed.js";
import { until } from "./helpers/wait.js";

const SEED = seedFrom("EDR_KILL9_SEED");
const REMOTE_TOKEN = "kill9-remote-token-57721";
const LOCAL_TOKEN = "kill9-local-token-66743";
const KILLS = 14;
const TABLES = ["cpu", "mem"] as const;
/** Tag values with a space, a comma, an `=` and unicode: escaped on every hop. */
const HOSTS = ["a", "b c", "d,e", "f=g", "ü 漢"];
const WRITERS = 4;
const LINES_PER_SECOND = 600;
const MS = 1_000_000n;
const BUCKET_MS = 2_000;
const BUCKET_NS = BigInt(BUCKET_MS) * MS;
/** On write: a bucket waits this long after its end; longer than a kill, a restart and a client's retry. */
const GRACE_MS = 10_000;
/**
 * Scheduled: a run copies up to 4 s ago, so every write of a window (and every rewrite) came before its copy;
 * with downsampling the offset is a whole number of buckets, as edr requires.
 */
const OFFSET_MS = 4_000;
/** Points are stamped up to this long before they are sent; rewrites touch points up to 1 s old. */
const BACKDATE_MS = 300;
const REWRITE_WITHIN_MS = 1_000;

interface Scenario {
  readonly name: string;
  readonly mode: "listen" | "schedule";
  readonly local: "influxdb1" | "testkit";
  readonly downsampling: boolean;
  /** The scenario's random streams derive from the seed and this. */
  readonly stream: number;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: "on write (edr listen in front of InfluxDB 1.6.7), no downsampling",
    mode: "listen",
    local: "influxdb1",
    downsampling: false,
    stream: 1,
  },
  {
    name: "on write (edr listen in front of the edr-testkit server), 2 s buckets",
    mode: "listen",
    local: "testkit",
    downsampling: true,
    stream: 2,
  },
  {
    name: "scheduled every:1s (edr schedule reading the edr-testkit server over SQL), no downsampling",
    mode: "schedule",
    local: "testkit",
    downsampling: false,
    stream: 3,
  },
  {
    name: "scheduled every:1s (edr schedule reading InfluxDB 1.6.7 over InfluxQL), 2 s buckets",
    mode: "schedule",
    local: "influxdb1",
    downsampling: true,
    stream: 4,
  },
];

/** What was known of the process at the moment it was killed. */
interface Kill {
  delayMs: number;
  queued: number | undefined;
  intake: number | undefined;
  /** Its writes to the remote that were in flight (never answered), and of those the ones the remote stored. */
  remoteCut: number;
  remoteStoredButCut: number;
  /** Writes of the clients in flight (their answer lost, or their connection refused) with this process. */
  clientsCut: number;
}

let cleanups: (() => Promise<void>)[] = [];
let databases = 0;
const summary: string[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

afterAll(() => {
  console.log(`[kill9] seed ${SEED} (replay with EDR_KILL9_SEED=${SEED})\n${summary.join("\n")}`);
});

describe(`kill -9 under a steady write load, restarted on the same queue (seed ${SEED})`, () => {
  const influx = inject("influxdb1Url");

  for (const scenario of SCENARIOS) it(scenario.name, { timeout: 180_000 }, () => runScenario(scenario));

  async function runScenario(scenario: Scenario): Promise<void> {
    const startedMs = Date.now();
    const tag = `[kill9 ${scenario.mode}${scenario.downsampling ? " downsampling" : ""}]`;
    const n = ++databases;
    const remoteDb = `edr_kill9_${process.pid}_${n}_remote`;
    await createInfluxDB1Database(influx, remoteDb);
    // The remote answers each write 200–800 ms after storing it, as InfluxDB 3 answers after its WAL flush:
    // kills land while writes are in flight, stored or not.
    const delayRng = new Rng(SEED, scenario.stream * 100 + 99);
    const proxy = await startRecordingProxy(influx, { answerDelayMs: () => delayRng.between(200, 800) });
    cleanups.push(() => proxy.close());
    const dir = await mkdtemp(join(tmpdir(), "edr-kill9-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    // The local instance: a database of the real 1.6.7, or an edr-testkit server (InfluxDB 3's API).
    let localUrl: string;
    let localDb: string;
    let readLocal: () => Promise<StoredPoint[]>;
    /** Where clients write when they write to the local instance itself, and with which header. */
    let localWrite: (base: string) => { url: string; headers: Record<string, string> };
    if (scenario.local === "influxdb1") {
      localDb = `edr_kill9_${process.pid}_${n}_local`;
      await createInfluxDB1Database(influx, localDb);
      localUrl = influx;
      readLocal = () => readInfluxDB1Points(influx, localDb);
      localWrite = (base) => ({
        url: `${base}/write?db=${localDb}&precision=ns`,
        headers: { authorization: `Token ${LOCAL_TOKEN}` },
      });
    } else {
      const server = await startInfluxDB3Server({ token: LOCAL_TOKEN });
      cleanups.push(() => server.close());
      // The database exists before edr schedule first reads it (InfluxDB 3 creates one on its first write).
      const created = await fetch(`${server.url}/api/v3/configure/database`, {
        method: "POST",
        headers: { authorization: `Bearer ${LOCAL_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ db: "edge" }),
      });
      expect(created.status).toBe(200);
      localDb = "edge";
      localUrl = server.url;
      readLocal = async () => TABLES.flatMap((table) => server.points("edge", table));
      localWrite = (base) => ({
        url: `${base}/api/v3/write_lp?db=edge&precision=nanosecond`,
        headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
      });
    }

    const args = [
      `host=${proxy.url}`,
      `database=${remoteDb}`,
      "write_api=v1",
      `queue_dir=${dir}`,
      `tables=${TABLES.join(".")}`,
      "timeout=10s",
    ];
    if (scenario.downsampling)
      args.push(`aggregate_interval=${BUCKET_MS / 1000}s`, `aggregations=${aggregationsArgument(TABLES)}`);
    if (scenario.mode === "listen" && scenario.downsampling) args.push(`aggregate_grace=${GRACE_MS / 1000}s`);
    // Scheduled: a window of one tick without downsampling; with it the window is a bucket (2 s, as edr
    // requires), so consecutive runs overlap and each bucket is copied twice: the same value both times.
    if (scenario.mode === "schedule")
      args.push(`window=${scenario.downsampling ? BUCKET_MS / 1000 : 1}s`, `offset=${OFFSET_MS / 1000}s`);
    const env = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };
    const common = ["--local-url", localUrl, "--local-db", localDb, "--trigger-arguments", args.join(",")];
    const command: EdrCommand =
      scenario.mode === "listen"
        ? {
            args: ["listen", "--listen", "127.0.0.1:0", "--flush-interval", "1s", ...common],
            env,
            urlPattern: LISTEN_READY,
          }
        : {
            args: [
              "schedule",
              "--trigger-spec",
              "every:1s",
              "--status-address",
              "127.0.0.1:0",
              ...(scenario.local === "influxdb1" ? ["--local-api", "influxql"] : []),
              ...common,
            ],
            env,
            urlPattern: SCHEDULE_STATUS,
            readyPattern: SCHEDULE_READY,
          };
    const edr = new KilledAndRestarted(command);
    cleanups.push(() => edr.dispose());
    const first = await edr.start();

    // Scheduled: the first run sets each table's watermark; every point is written after it, so the copies
    // that follow (and the catch-ups after each kill) must bring every one of them.
    let firstWatermarkNs = 0n;
    if (scenario.mode === "schedule") {
      let status: ReplicatorStatus | undefined;
      await until(
        `${tag} the first scheduled run`,
        async () => {
          status = await fetchStatus(first.url);
          return TABLES.every((t) => status!.watermarks[t] !== undefined);
        },
        20_000,
        () => `${JSON.stringify(status)}\n${edr.output(1)}`,
      );
      firstWatermarkNs = TABLES.map((t) => BigInt(Date.parse(status!.watermarks[t]!)) * MS).reduce((a, b) =>
        a > b ? a : b,
      );
    }

    const load = startLoad({
      rng: (w) => new Rng(SEED, scenario.stream * 100 + w + 1),
      writers: WRITERS,
      linesPerSecond: LINES_PER_SECOND,
      tables: TABLES,
      hosts: HOSTS,
      backdateMs: BACKDATE_MS,
      rewriteShare: 0.05,
      rewriteWithinMs: REWRITE_WITHIN_MS,
      target:
        scenario.mode === "listen"
          ? async (): Promise<WriteTarget> => {
              const running = await edr.ready();
              return { ...localWrite(running.url), generation: running.generation };
            }
          : async (): Promise<WriteTarget> => ({ ...localWrite(localUrl), generation: 0 }),
    });
    cleanups.push(() => load.stop());

    // The kills: each at a random moment 200–1500 ms after the process said it was ready.
    const killRng = new Rng(SEED, scenario.stream * 100);
    const kills: Kill[] = [];
    for (let k = 0; k < KILLS; k++) {
      const running = await edr.ready();
      const delayMs = killRng.between(200, 1500);
      await sleep(Math.max(0, running.readyAtMs + delayMs - Date.now()));
      let before: ReplicatorStatus | undefined;
      try {
        before = await fetchStatus(running.url);
      } catch {
        // The moment matters more than the status: kill anyway.
      }
      const killedAtMs = Date.now();
      await edr.kill();
      // What the dead process had sent reaches the proxy by now; none of it will ever be answered.
      await sleep(100);
      const cut = proxy.writes.filter((w) => !w.answered && w.atMs <= killedAtMs + 100);
      const stored = cut.filter((w) => w.status === 204).length;
      kills.push({
        delayMs,
        queued: before?.queue.entries,
        intake: before?.intake?.entries,
        remoteCut: cut.length - kills.reduce((sum, k) => sum + k.remoteCut, 0),
        remoteStoredButCut: stored - kills.reduce((sum, k) => sum + k.remoteStoredButCut, 0),
        clientsCut: 0,
      });
      await edr.start();
    }
    await sleep(1_000);
    await load.stop();
    const writesEndedMs = Date.now();
    for (const write of load.writes)
      for (const attempt of write.attempts)
        if (
          (attempt.outcome === "lost" || attempt.outcome === "refused") &&
          attempt.generation < kills.length
        )
          kills[attempt.generation]!.clientsCut++;

    const last = await edr.ready();
    const lastTimeNs = load.maxTimeNs();
    const copiedTo = scenario.downsampling ? bucketStart(lastTimeNs, BUCKET_NS) + BUCKET_NS : lastTimeNs + 1n;
    let status = await fetchStatus(last.url);
    // Everything drains: the intake empty (with downsampling: every bucket closed and emitted), the queue
    // empty; scheduled: every table copied past the last point written (its bucket's end). The counters must
    // then reconcile; a snapshot taken while a batch is being acknowledged does not (see the KNOWN BUG test
    // below), and in scheduled mode runs go on (with downsampling each bucket is copied twice), so the wait
    // is for a snapshot at rest.
    await until(
      `${tag} everything delivered and the counters reconciled`,
      async () => {
        status = await fetchStatus(last.url);
        const drained = status.lines.queued === 0 && status.queue.entries === 0 && status.reconciled;
        if (scenario.mode === "listen") return drained && status.intake?.entries === 0;
        return (
          drained &&
          TABLES.every((t) => {
            const mark = status.watermarks[t];
            return mark !== undefined && BigInt(Date.parse(mark)) * MS >= copiedTo;
          })
        );
      },
      (scenario.downsampling ? BUCKET_MS + GRACE_MS : 0) + OFFSET_MS + 30_000,
      () => `${JSON.stringify(status)}\n${edr.output(1)}`,
      50,
    );
    const drainedMs = Date.now();
    const statusText = `${JSON.stringify(status)}\n${edr.output(1)}`;

    // The last process reconciles, nothing was refused, dead-lettered or late; SIGTERM ends it cleanly.
    expect(status, `${tag} seed ${SEED}: ${statusText}`).toMatchObject({
      state: "healthy",
      reconciled: true,
    });
    expect(status.lines, `${tag} seed ${SEED}: ${statusText}`).toMatchObject({
      queued: 0,
      deadLettered: 0,
      refused: 0,
      late: 0,
      dropped: 0,
    });
    expect(status.lines.queuedAtStart + status.lines.accepted).toBe(
      status.lines.delivered + status.lines.deadLettered + status.lines.queued + status.lines.dropped,
    );
    expect(status.deadLettersByStatus).toEqual({});
    const ended = await edr.terminate();
    expect(ended, `${tag} seed ${SEED}: the last edr on SIGTERM\n${edr.output(1)}`).toEqual({
      code: 0,
      signal: null,
    });
    const files = await readQueueDir(dir);
    expect(files.deadLetterBytes, `${tag} dead letters: ${JSON.stringify(files.sizes)}`).toBe(0);
    expect(files.lateLetterBytes, `${tag} late letters: ${JSON.stringify(files.sizes)}`).toBe(0);
    for (const { child } of edr.started) {
      for (const output of [child.stdout(), child.stderr()]) {
        expect(output).not.toContain(REMOTE_TOKEN);
        expect(output).not.toContain(LOCAL_TOKEN);
      }
    }

    // Every write was answered 204 in the end, and the local instance holds the last value of each point.
    const unanswered = load.writes.filter((w) => w.attempts.at(-1)?.outcome !== "204");
    expect(unanswered.length, `${tag} seed ${SEED}: writes never answered 204`).toBe(0);
    const local = await readLocal();
    const written = modelVersions(load.model);
    expectStore(compareStore(local, written), `${tag} seed ${SEED}: the local instance`);
    if (scenario.mode === "schedule") {
      // Scheduled mode copies what the local instance holds when a window is read: each write (and each
      // rewrite) was stored well before the run that copies its window (offset 4 s).
      const tooSlow = load.writes.filter(
        (w) => w.answeredAtMs! > Number(w.minTimeNs / MS) + OFFSET_MS - 1_000,
      );
      expect(
        tooSlow.length,
        `${tag}: writes stored less than 1 s before their window was copied (the machine stalled)`,
      ).toBe(0);
      expect(
        local.every((p) => p.timeNs >= firstWatermarkNs),
        `${tag}: a point before the first run's watermark`,
      ).toBe(true);
    }

    // The remote: exactly what the local instance accepted (transformed), the last value of each series and
    // time, and no write edr sent ever carried a value that was not written (or, downsampled, computed).
    const remote = await readInfluxDB1Points(influx, remoteDb);
    const expected = scenario.downsampling ? expectedBuckets(local, BUCKET_NS) : local;
    const versions = scenario.downsampling ? versionsOf(expected) : written;
    expectStore(compareStore(remote, versions), `${tag} seed ${SEED}: the remote`);
    expect(sortStoredPoints(remote)).toEqual(sortStoredPoints(expected));
    const sent = compareSent(proxy.deliveredLines(), versions, scenario.downsampling);
    expect(sent.unexpected, `${tag} seed ${SEED}: sent, never written: ${firstFew(sent.unexpected)}`).toEqual(
      [],
    );
    expect(
      sent.neverWritten,
      `${tag} seed ${SEED}: sent with a value never written (or computed): ${firstFew(sent.neverWritten)}`,
    ).toEqual([]);
    expect(
      sent.notLast,
      `${tag} seed ${SEED}: a bucket sent with another value than its final one: ${firstFew(sent.notLast)}`,
    ).toEqual([]);

    // The proof is about something: points written again with other values, and with downsampling buckets
    // whose aggregate those rewrites changed; kills with work in progress; clients that lost answers.
    const rewritten = load.model.rewritten();
    expect(rewritten, `${tag}: series and times written twice with different values`).toBeGreaterThan(50);
    let bucketsRewritten = 0;
    if (scenario.downsampling) {
      const firstValues = [...load.model.slots.values()].map(({ point, versions: v }) => ({
        ...point,
        fields: v[0]!,
      }));
      const asFirst = new Map(
        expectedBuckets(firstValues, BUCKET_NS).map((p) => [
          JSON.stringify([p.measurement, p.tags, String(p.timeNs)]),
          fieldsText(p.fields),
        ]),
      );
      bucketsRewritten = expected.filter(
        (p) =>
          asFirst.get(JSON.stringify([p.measurement, p.tags, String(p.timeNs)])) !== fieldsText(p.fields),
      ).length;
      expect(bucketsRewritten, `${tag}: buckets whose aggregate a rewrite changed`).toBeGreaterThan(10);
    }
    expect(kills).toHaveLength(KILLS);
    const stats = load.stats();
    if (scenario.mode === "listen")
      expect(stats.lost + stats.refused, `${tag}: client attempts cut by the kills`).toBeGreaterThan(0);
    const inFlight = kills.filter((k) => k.remoteCut > 0).length;
    const storedButCut = kills.reduce((sum, k) => sum + k.remoteStoredButCut, 0);
    // On write with downsampling a bucket is sent once, after its grace: sends are rare and short, so the
    // kills fall on open buckets in the intake instead.
    if (scenario.mode === "listen" && scenario.downsampling)
      expect(
        kills.filter((k) => (k.intake ?? 0) > 0).length,
        `${tag}: kills with open buckets`,
      ).toBeGreaterThan(KILLS / 2);
    else expect(inFlight, `${tag}: kills while a write to the remote was in flight`).toBeGreaterThan(0);
    const withWork = kills.filter((k) => (k.queued ?? 0) > 0 || (k.intake ?? 0) > 0).length;

    summary.push(
      `${tag} ${KILLS} kills (delays ${kills.map((k) => k.delayMs).join(",")} ms after ready; ${withWork} with lines ` +
        `queued or in the intake, ${kills.filter((k) => k.clientsCut > 0).length} cutting a client's write, ` +
        `${inFlight} with a write to the remote in flight, ${storedButCut} writes stored ` +
        `at the remote but never answered); ${stats.writes} writes of ${stats.lines} lines ` +
        `(${stats.rewrites} rewrites, ${rewritten} series+times rewritten${scenario.downsampling ? `, ${bucketsRewritten} buckets changed by them` : ""}); ` +
        `client attempts lost ${stats.lost}, refused ${stats.refused}, other ${JSON.stringify(stats.other)}; ` +
        `local ${local.length} points, remote ${remote.length}; ${proxy.writes.length} writes to the remote ` +
        `(${sent.lines} lines); ` +
        `quarantine ${files.quarantineBytes} bytes; last process: ${JSON.stringify(status.lines)}; ` +
        `${((writesEndedMs - startedMs) / 1000).toFixed(1)} s of writes, drained in ${((drainedMs - writesEndedMs) / 1000).toFixed(1)} s, ` +
        `${((Date.now() - startedMs) / 1000).toFixed(1)} s in all`,
    );
    console.log(summary.at(-1));
  }
});

// Found by the scenarios above: a `/status` read while edr acknowledges a queue batch does not reconcile. The
// queue lowers its count before it writes its cursor file (packages/edr-queue/src/queue.ts, `ack()`:
// `this.entries -= n` and then `await this.persist(…)`, a write, fsync and rename), and the delivery counts the
// lines delivered only once `ack()` has resolved (packages/edr-plugin/src/delivery.ts, `acknowledgeSettled()`:
// `await this.options.queue.ack(open.batch)`, then `this.counters.delivered += delivered`). A snapshot in between
// holds those lines neither as queued nor as delivered: `reconciled: false`, and `edr status` prints
// "MISMATCH: the counters do not add up", while nothing is wrong. The scenarios read the final status once
// nothing moves; this test reads it while a queue drains.
describe("/status while a queue drains", () => {
  it("reconciles in every snapshot, also while a queue batch is being acknowledged", async () => {
    const local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
    cleanups.push(() => local.close());
    const remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
    cleanups.push(() => remote.close());
    const dir = await mkdtemp(join(tmpdir(), "edr-kill9-status-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const edr = new KilledAndRestarted({
      args: [
        "listen",
        "--listen",
        "127.0.0.1:0",
        "--local-url",
        local.url,
        "--local-db",
        "edge",
        "--trigger-arguments",
        // Small batches, one at a time: many acknowledgements.
        `host=${remote.url},database=central,queue_dir=${dir},batch_lines=20,max_in_flight=1`,
      ],
      env: { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN },
      urlPattern: LISTEN_READY,
    });
    cleanups.push(() => edr.dispose());
    const { url } = await edr.start();

    let polling = true;
    let samples = 0;
    let whileQueued = 0;
    const unreconciled: string[] = [];
    const poller = (async () => {
      while (polling) {
        const status = await fetchStatus(url);
        samples++;
        if (status.lines.queued > 0) whileQueued++;
        if (!status.reconciled) unreconciled.push(JSON.stringify(status.lines));
      }
    })();
    const T0 = 1_700_000_000_000_000_000n;
    for (let i = 0; i < 20; i++) {
      const body = Array.from(
        { length: 200 },
        (_, j) => `cpu,host=h${j % 7} v=${i * 200 + j}i ${T0 + BigInt(i * 200 + j)}`,
      ).join("\n");
      const res = await fetch(`${url}/api/v3/write_lp?db=edge`, {
        method: "POST",
        headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
        body,
      });
      expect(res.status).toBe(204);
    }
    let status = await fetchStatus(url);
    await until(
      "the queue drained",
      async () => {
        status = await fetchStatus(url);
        return status.lines.delivered === 4_000 && status.lines.queued === 0;
      },
      30_000,
      () => JSON.stringify(status.lines),
    );
    polling = false;
    await poller;
    expect(remote.points("central", "cpu")).toHaveLength(4_000);
    expect(whileQueued, "snapshots taken while lines were queued").toBeGreaterThan(20);
    summary.push(
      `[kill9 status] ${samples} snapshots while draining, ${whileQueued} with lines queued, ${unreconciled.length} not reconciled`,
    );
    expect(
      unreconciled,
      `${unreconciled.length} of ${samples} /status snapshots taken while the queue drained do not ` +
        `reconcile (lines acknowledged in the queue, not yet counted delivered), e.g. ${unreconciled.slice(0, 2).join(" ")}`,
    ).toEqual([]);
  });
});
