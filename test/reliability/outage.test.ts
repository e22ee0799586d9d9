// A remote outage longer than the sink's retry budget, while writes go on. `edr` runs as a child process with
// a small budget (max_retries=1, timeout=2s: a write call gives up within a few seconds), an edr-testkit
// server as the remote, and a steady write load; the remote goes away for 15 s, several budgets in a row:
//
//   on write:   edr listen in front of an edr-testkit server; the remote stops listening (connections refused,
//               those open cut)
//   scheduled:  edr schedule every:1s reading an edr-testkit server over SQL; the remote answers every write
//               503 with Retry-After: 1
//
// Asserted: `/status` says `degraded` during the outage (and `edr status` exits 1), with the lag growing about
// as fast as the clock, and nothing reaches the remote meanwhile; writes to edr listen are still answered 204;
// scheduled runs that could not copy on time copy the missed windows later (catch-up); once the remote is
// back the backlog drains completely, the lag is back to 0 and the state `healthy`; the remote then holds
// exactly every point the local instance accepted, each with its last value (none missing, none with a
// value never written or an older one); the counters reconcile, nothing refused or dead-lettered, and the
// dead-letter file is empty.
//
// Replay a run's values with its seed: EDR_OUTAGE_SEED=<seed> npx vitest run --project reliability
// test/reliability/outage.test.ts
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { sortStoredPoints, startInfluxDB3Server } from "edr-testkit";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runEdr } from "../../packages/edr-plugin/test/edr-child.js";
import { compareStore } from "./helpers/compare.js";
import { createDatabase, expectStore, modelVersions } from "./helpers/expect-store.js";
import {
  KilledAndRestarted,
  LISTEN_READY,
  SCHEDULE_READY,
  SCHEDULE_STATUS,
  fetchStatus,
  type EdrCommand,
  type ReplicatorStatus,
} from "./helpers/edr-process.js";
import { startLoad } from "./helpers/load.js";
import { readQueueDir } from "./helpers/queue-files.js";
import { Rng, seedFrom } from "./helpers/seed.js";
import { until } from "./helpers/wait.js";

const SEED = seedFrom("EDR_OUTAGE_SEED");
const REMOTE_TOKEN = "outage-remote-token-31415";
const LOCAL_TOKEN = "outage-local-token-27182";
const TABLES = ["cpu", "mem"] as const;
const HOSTS = ["a", "b c", "d,e", "ü 漢"];
const MS = 1_000_000n;
/** How long the remote stays away: several times the budget of one write call (below). */
const OUTAGE_MS = 15_000;
/**
 * The sink's budget: 1 + 1 attempts of at most 2 s each, with a backoff under 1 s between them. A pass
 * that exhausts it leaves its lines queued, and the drain loop tries again later.
 */
const BUDGET_ARGS = ["max_retries=1", "timeout=2s"];
/** Scheduled: a run copies up to this long ago, so every write (and rewrite) of a window came before its copy. */
const OFFSET_MS = 4_000;

let cleanups: (() => Promise<void>)[] = [];
const summary: string[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

afterAll(() => {
  console.log(`[outage] seed ${SEED} (replay with EDR_OUTAGE_SEED=${SEED})\n${summary.join("\n")}`);
});

interface Scenario {
  readonly name: string;
  readonly mode: "listen" | "schedule";
  /** How the remote is down. */
  readonly outage: "refused" | "503";
  readonly stream: number;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: "on write (edr listen): the remote refuses connections for 15 s",
    mode: "listen",
    outage: "refused",
    stream: 1,
  },
  {
    name: "scheduled (edr schedule every:1s): the remote answers 503 Retry-After: 1 for 15 s",
    mode: "schedule",
    outage: "503",
    stream: 2,
  },
];

describe(`a remote outage longer than the retry budget, writes going on (seed ${SEED})`, () => {
  for (const scenario of SCENARIOS) it(scenario.name, { timeout: 150_000 }, () => runScenario(scenario));
});

async function runScenario(scenario: Scenario): Promise<void> {
  const startedMs = Date.now();
  const tag = `[outage ${scenario.mode}]`;
  const local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  cleanups.push(() => local.close());
  await createDatabase(local, LOCAL_TOKEN, "edge");
  const remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
  cleanups.push(() => remote.close());
  const dir = await mkdtemp(join(tmpdir(), "edr-outage-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  const args = [
    `host=${remote.url}`,
    "database=central",
    `queue_dir=${dir}`,
    `tables=${TABLES.join(".")}`,
    "batch_lines=500",
    ...BUDGET_ARGS,
  ];
  if (scenario.mode === "schedule") args.push("window=1s", `offset=${OFFSET_MS / 1000}s`);
  const env = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };
  const common = ["--local-url", local.url, "--local-db", "edge", "--trigger-arguments", args.join(",")];
  const command: EdrCommand =
    scenario.mode === "listen"
      ? {
          args: ["listen", "--listen", "127.0.0.1:0", "--flush-interval", "1s", ...common],
          env,
          urlPattern: LISTEN_READY,
        }
      : {
          args: ["schedule", "--trigger-spec", "every:1s", "--status-address", "127.0.0.1:0", ...common],
          env,
          urlPattern: SCHEDULE_STATUS,
          readyPattern: SCHEDULE_READY,
        };
  const edr = new KilledAndRestarted(command);
  cleanups.push(() => edr.dispose());
  const running = await edr.start();
  let status: ReplicatorStatus = await fetchStatus(running.url);
  const describeState = () => `${JSON.stringify(status)}\n${edr.output(1)}`;

  // Scheduled: the first run sets the watermarks; every point is written after them.
  if (scenario.mode === "schedule")
    await until(
      `${tag} the first scheduled run`,
      async () => {
        status = await fetchStatus(running.url);
        return TABLES.every((t) => status.watermarks[t] !== undefined);
      },
      20_000,
      describeState,
    );

  const writeUrl =
    scenario.mode === "listen"
      ? `${running.url}/api/v3/write_lp?db=edge&precision=nanosecond`
      : `${local.url}/api/v3/write_lp?db=edge&precision=nanosecond`;
  const load = startLoad({
    rng: (w) => new Rng(SEED, scenario.stream * 100 + w + 1),
    writers: 2,
    linesPerSecond: 150,
    tables: TABLES,
    hosts: HOSTS,
    backdateMs: 300,
    rewriteShare: 0.05,
    rewriteWithinMs: 1_000,
    target: async () => ({
      url: writeUrl,
      headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
      generation: 0,
    }),
  });
  cleanups.push(() => load.stop());
  const remotePoints = () => TABLES.reduce((n, t) => n + remote.points("central", t).length, 0);

  // Before the outage: lines reach the remote and edr is healthy.
  await until(
    `${tag} lines delivered before the outage`,
    async () => {
      status = await fetchStatus(running.url);
      return status.lines.delivered > 300 && status.state === "healthy";
    },
    30_000,
    describeState,
  );

  // The outage.
  const outageStartMs = Date.now();
  if (scenario.outage === "refused") await remote.faults.refuse();
  else remote.faults.failAll({ status: 503, retryAfter: 1 });
  const requestsAtOutage = remote.requests.length;
  const heldAtOutage = remotePoints();
  const samples: { atMs: number; state: string; lag: number; queued: number; reason: string | undefined }[] =
    [];
  await until(
    `${tag} /status says degraded during the outage`,
    async () => {
      status = await fetchStatus(running.url);
      samples.push({
        atMs: Date.now() - outageStartMs,
        state: status.state,
        lag: status.lagSeconds,
        queued: status.lines.queued,
        reason: status.reason,
      });
      return status.state === "degraded";
    },
    OUTAGE_MS,
    describeState,
  );
  const degradedAtMs = Date.now() - outageStartMs;
  // `edr status` says so too, and exits 1 (0 only when healthy).
  const statusDuring = await runEdr(["status", "--url", running.url]);
  expect(statusDuring.code, `${tag} edr status during the outage\n${statusDuring.stdout}`).toBe(1);
  expect(statusDuring.stdout).toMatch(/degraded/);
  // Sample the rest of the outage: the state stays degraded, the lag grows.
  while (Date.now() - outageStartMs < OUTAGE_MS) {
    await sleep(500);
    status = await fetchStatus(running.url);
    samples.push({
      atMs: Date.now() - outageStartMs,
      state: status.state,
      lag: status.lagSeconds,
      queued: status.lines.queued,
      reason: status.reason,
    });
  }
  const atEnd = status;
  const outageOutput = edr.output(1);
  // Nothing reached the remote while it was down (a 503 is recorded as a request, but stores nothing).
  expect(remotePoints(), `${tag} points stored at the remote during the outage`).toBe(heldAtOutage);
  if (scenario.outage === "refused") expect(remote.requests.length).toBe(requestsAtOutage);
  else
    expect(
      remote.requests.length - requestsAtOutage,
      `${tag} write attempts answered 503 during the outage`,
    ).toBeGreaterThan(2);
  if (scenario.outage === "refused") await remote.faults.accept();
  else remote.faults.clear();
  const outageEndMs = Date.now();

  const afterDegraded = samples.filter((s) => s.atMs >= degradedAtMs);
  expect(
    afterDegraded.filter((s) => s.state !== "degraded").map((s) => `${s.atMs} ms: ${s.state}`),
    `${tag} states after the first degraded one during the outage`,
  ).toEqual([]);
  // The sink gave up several times: the budget (a few seconds) is much shorter than the outage.
  const gaveUp = (outageOutput.match(/delivery paused|not delivered/g) ?? []).length;
  expect(gaveUp, `${tag} passes that gave up during the outage\n${outageOutput}`).toBeGreaterThan(1);
  expect(atEnd.reason ?? "", `${tag} the reason during the outage`).toMatch(/not delivered/);
  // The lag grows with the outage, about as fast as the clock: the oldest line waits.
  const first = afterDegraded[0]!;
  const last = afterDegraded.at(-1)!;
  expect(last.atMs - first.atMs).toBeGreaterThan(5_000);
  expect(
    last.lag - first.lag,
    `${tag} lag growth over ${last.atMs - first.atMs} ms: ${JSON.stringify(afterDegraded)}`,
  ).toBeGreaterThan((last.atMs - first.atMs) / 1000 - 3);
  expect(last.lag, `${tag} lag at the end of the outage`).toBeGreaterThan(OUTAGE_MS / 1000 - 5);
  // On write, every write goes on being queued. Scheduled, a run waits out the remote's Retry-After for a
  // while (5 s at most per wait) before it ends with its lines left queued, and runs come one at a time: the
  // windows that pass meanwhile are copied later, from the watermarks (asserted below).
  if (scenario.mode === "listen")
    expect(last.queued, `${tag} lines queued at the end of the outage`).toBeGreaterThan(1_000);
  else expect(last.queued, `${tag} lines queued at the end of the outage`).toBeGreaterThan(0);

  // Writes go on a little after the remote is back, then stop.
  await sleep(3_000);
  await load.stop();
  const writesEndedMs = Date.now();
  const lastTimeNs = load.maxTimeNs();

  // The backlog drains completely: nothing queued, lag 0, healthy; scheduled: copied past the last point.
  await until(
    `${tag} the backlog drained after the outage`,
    async () => {
      status = await fetchStatus(running.url);
      const drained =
        status.lines.queued === 0 &&
        status.queue.entries === 0 &&
        status.reconciled &&
        status.state === "healthy" &&
        status.lagSeconds === 0;
      if (scenario.mode === "listen") return drained && status.intake?.entries === 0;
      return (
        drained &&
        TABLES.every((t) => {
          const mark = status.watermarks[t];
          return mark !== undefined && BigInt(Date.parse(mark)) * MS > lastTimeNs;
        })
      );
    },
    // The drain loop's pause doubles while the remote is down (up to 16 s after a 15 s outage).
    60_000 + OFFSET_MS,
    describeState,
    100,
  );
  const drainedMs = Date.now();
  const final = status;
  const statusAfter = await runEdr(["status", "--url", running.url]);
  expect(statusAfter.code, `${tag} edr status after the outage\n${statusAfter.stdout}`).toBe(0);
  expect(statusAfter.stdout).toMatch(/healthy/);
  expect(final, `${tag} seed ${SEED}: ${describeState()}`).toMatchObject({
    state: "healthy",
    reconciled: true,
    lagSeconds: 0,
  });
  expect(final.lines, `${tag} seed ${SEED}: ${describeState()}`).toMatchObject({
    queuedAtStart: 0,
    queued: 0,
    deadLettered: 0,
    refused: 0,
    dropped: 0,
  });
  expect(final.lines.accepted).toBe(final.lines.delivered);
  expect(final.deadLettersByStatus).toEqual({});
  const retried = scenario.outage === "refused" ? "connection" : "503";
  expect(
    final.retriesByStatus[retried] ?? 0,
    `${tag} retries by status: ${JSON.stringify(final.retriesByStatus)}`,
  ).toBeGreaterThan(0);

  // Every write was answered 204 (edr listen accepts writes while the remote is down).
  const unanswered = load.writes.filter((w) => w.attempts.at(-1)?.outcome !== "204");
  expect(unanswered.length, `${tag} writes never answered 204`).toBe(0);
  const stats = load.stats();
  expect(stats.other, `${tag} writes answered other than 204`).toEqual({});
  // Writes were answered during the outage too.
  const answeredDuringOutage = load.writes.filter(
    (w) => w.answeredAtMs !== undefined && w.answeredAtMs > outageStartMs && w.answeredAtMs < outageEndMs,
  ).length;
  expect(answeredDuringOutage, `${tag} writes answered during the outage`).toBeGreaterThan(20);

  // The local instance holds the last value written to each series and time; the remote exactly the same.
  if (scenario.mode === "schedule") {
    // A window is copied once, OFFSET_MS after its end: each write (and rewrite) must be stored before then.
    const tooSlow = load.writes.filter((w) => w.answeredAtMs! > Number(w.minTimeNs / MS) + OFFSET_MS - 1_000);
    expect(
      tooSlow.length,
      `${tag}: writes stored less than 1 s before their window was copied (the machine stalled)`,
    ).toBe(0);
  }
  const written = modelVersions(load.model);
  const localPoints = TABLES.flatMap((t) => local.points("edge", t));
  expectStore(compareStore(localPoints, written), `${tag} seed ${SEED}: the local instance`);
  const remoteHeld = TABLES.flatMap((t) => remote.points("central", t));
  expectStore(compareStore(remoteHeld, written), `${tag} seed ${SEED}: the remote`);
  expect(sortStoredPoints(remoteHeld)).toEqual(sortStoredPoints(localPoints));
  if (scenario.mode === "listen") expect(final.lines.accepted).toBe(stats.lines);
  else
    expect(
      running.child.stderr(),
      `${tag} windows missed while a run waited for the remote, copied later`,
    ).toMatch(/Catching up (cpu|mem): \d+ chunks/);

  const ended = await edr.terminate();
  expect(ended, `${tag} edr on SIGTERM\n${edr.output(1)}`).toEqual({ code: 0, signal: null });
  const files = await readQueueDir(dir);
  expect(files.deadLetterBytes, `${tag} dead letters: ${JSON.stringify(files.sizes)}`).toBe(0);
  for (const output of [running.child.stdout(), running.child.stderr()]) {
    expect(output).not.toContain(REMOTE_TOKEN);
    expect(output).not.toContain(LOCAL_TOKEN);
  }

  // Scheduled: the longest run (one that waited for the remote during the outage).
  const longestRunS = Math.max(
    0,
    ...[...running.child.stderr().matchAll(/Finished execution in (?:(\d+)s )?(\d+)ms/g)].map(
      (m) => Number(m[1] ?? 0) + Number(m[2]) / 1000,
    ),
  );
  summary.push(
    `${tag} ${stats.writes} writes of ${stats.lines} lines (${load.model.rewritten()} series+times rewritten); ` +
      `degraded ${(degradedAtMs / 1000).toFixed(1)} s into the ${OUTAGE_MS / 1000} s outage, lag at its end ` +
      `${last.lag.toFixed(1)} s with ${last.queued} lines queued, ${gaveUp} passes gave up; ` +
      `drained ${((drainedMs - outageEndMs) / 1000).toFixed(1)} s after the remote came back ` +
      `(${((drainedMs - writesEndedMs) / 1000).toFixed(1)} s after the writes stopped); ` +
      `remote ${remoteHeld.length} points, ${final.requests} requests, answers ${JSON.stringify(final.answersByStatus)}, ` +
      `retries ${JSON.stringify(final.retriesByStatus)}; longest run ${longestRunS.toFixed(1)} s; ` +
      `${((Date.now() - startedMs) / 1000).toFixed(1)} s in all`,
  );
  console.log(summary.at(-1));
}
