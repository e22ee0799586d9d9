// A remote misbehaving at random for thousands of batches. `edr listen` runs as a child process in front of
// an edr-testkit server, with small batches (batch_lines=5, 16 in flight) to another edr-testkit server as
// the remote, under a steady write load. Every write request to the remote gets a fault drawn from the seed
// (`faults.perRequest`): 429 with Retry-After in seconds or as an HTTP date, 503 with and without it, 500,
// 413 (only for a body of two lines or more: edr splits it, and no single line is ever too large), a reset
// connection (nothing stored), an answer lost after the write was stored, a stall (the request times out), a
// slow answer (50 ms to 800 ms), and one slower than edr's timeout (stored on arrival, answered after edr gave
// up on it); or none.
// Besides the good lines, one writer sends lines the remote refuses for good: a field whose type conflicts
// with the remote's schema (`odd.v` is an integer there, a string at the local instance), mixed with good
// lines of the same table, so the remote answers partial writes naming the bad lines.
//
// Asserted: every line accepted is either at the remote or in the dead-letter file, never both; the remote
// holds every good line with its last value (a line sent again after its answer was lost is harmless: the
// same series and time); the dead-letter file (read by `edr dead-letter list --json` and as a file) holds
// exactly the bad lines, each once, with status 400 and the remote's reason; no good line is dead-lettered;
// `/status` reconciles and counts the same; every kind of fault happened.
//
// Replay a run's faults and values with its seed (the timing still varies):
//   EDR_CHAOS_SEED=<seed> npx vitest run --project reliability test/reliability/chaos.test.ts
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  sortStoredPoints,
  startInfluxDB3Server,
  type FaultRequest,
  type RequestFault,
  type StoredPoint,
} from "edr-testkit";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runEdr } from "../../packages/edr-plugin/test/edr-child.js";
import { compareStore, firstFew, type Versions } from "./helpers/compare.js";
import { createDatabase } from "./helpers/expect-store.js";
import {
  KilledAndRestarted,
  LISTEN_READY,
  fetchStatus,
  type ReplicatorStatus,
} from "./helpers/edr-process.js";
import { formatPoint, parseBody } from "./helpers/line-protocol.js";
import { fieldsText, pointSlot, startLoad } from "./helpers/load.js";
import { Rng, seedFrom } from "./helpers/seed.js";
import { until } from "./helpers/wait.js";

const SEED = seedFrom("EDR_CHAOS_SEED");
const REMOTE_TOKEN = "chaos-remote-token-16180";
const LOCAL_TOKEN = "chaos-local-token-14142";
const TABLES = ["cpu", "mem"] as const;
const HOSTS = ["a", "b c", "d,e", "f=g", "h", "i", "j", "ü 漢"];
const MS = 1_000_000n;
/** How long the writers write; the queue then drains under the same faults. */
const WRITE_MS = 40_000;
/** edr's timeout per request: stalls and the slowest answers run into it. */
const TIMEOUT_MS = 2_000;

let cleanups: (() => Promise<void>)[] = [];
const summary: string[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

afterAll(() => {
  console.log(`[chaos] seed ${SEED} (replay with EDR_CHAOS_SEED=${SEED})\n${summary.join("\n")}`);
});

/** The faults, with their share of the write requests (the rest are answered normally). */
const FAULTS: readonly { name: string; share: number; make: (rng: Rng) => RequestFault }[] = [
  { name: "429 Retry-After seconds", share: 0.04, make: (rng) => fail(429, rng.chance(0.7) ? 0 : 1) },
  {
    name: "429 Retry-After date",
    share: 0.03,
    make: (rng) => fail(429, new Date(Date.now() + rng.between(0, 1_000))),
  },
  { name: "503 Retry-After", share: 0.02, make: () => fail(503, 1) },
  { name: "503", share: 0.02, make: () => fail(503) },
  { name: "500", share: 0.03, make: () => fail(500) },
  {
    name: "413",
    share: 0.04,
    make: () => fail(413, undefined, "max request size (10485760 bytes) exceeded"),
  },
  { name: "reset", share: 0.03, make: () => ({ kind: "drop" }) },
  { name: "answer lost after storing", share: 0.03, make: () => ({ kind: "cut" }) },
  { name: "stall", share: 0.008, make: () => ({ kind: "stall" }) },
  { name: "slow", share: 0.05, make: (rng) => ({ kind: "delay", ms: rng.between(50, 800) }) },
  {
    // Stored when it arrives, answered after edr gave up: InfluxDB 3 applies writes in the order they arrive
    // and answers after its WAL flush. (Storing it only after the delay would let a write edr has since sent
    // again, and newer writes of the same series after it, be overwritten by this stale one: no client can
    // order against a remote that applies a write long after answering the ones sent after it.)
    name: "slower than the timeout",
    share: 0.006,
    make: (rng) => ({ kind: "answerLate", ms: rng.between(TIMEOUT_MS + 100, TIMEOUT_MS + 800) }),
  },
];

function fail(status: number, retryAfter?: number | Date, body?: string): RequestFault {
  return {
    kind: "fail",
    status,
    ...(retryAfter !== undefined && { retryAfter }),
    ...(body !== undefined && { body }),
  };
}

/** Lines of a body (a newline inside a quoted string value ends no line). */
function lineCount(body: string): number {
  try {
    return parseBody(body).length;
  } catch {
    return 0;
  }
}

/** The seeded chooser and what it chose. */
function chaos(rng: Rng) {
  const chosen = new Map<string, number>();
  const choose = (request: FaultRequest): RequestFault | undefined => {
    let r = rng.float();
    for (const fault of FAULTS) {
      if (r < fault.share) {
        // A single line is never too large: 413 only splits, so no good line is refused for its size.
        if (fault.name === "413" && lineCount(request.body) < 2) break;
        chosen.set(fault.name, (chosen.get(fault.name) ?? 0) + 1);
        return fault.make(rng);
      }
      r -= fault.share;
    }
    chosen.set("none", (chosen.get("none") ?? 0) + 1);
    return undefined;
  };
  return { choose, chosen };
}

/** A dead letter as `edr dead-letter list --json` prints it. */
interface Letter {
  line: string;
  table: string;
  status: number;
  reason: string;
  time: string;
  ordinal: number;
}

describe(`a remote misbehaving at random for thousands of batches (seed ${SEED})`, () => {
  it(
    "every line accepted ends at the remote or in the dead-letter file, exactly the bad ones there, each once",
    {
      timeout: 200_000,
    },
    async () => {
      const startedMs = Date.now();
      const tag = "[chaos]";
      const local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
      cleanups.push(() => local.close());
      await createDatabase(local, LOCAL_TOKEN, "edge");
      const remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
      cleanups.push(() => remote.close());
      // The remote's schema: `odd.v` is an integer there; the bad lines write it as a string.
      const seeded = await fetch(`${remote.url}/api/v3/write_lp?db=central&precision=nanosecond`, {
        method: "POST",
        headers: { authorization: `Bearer ${REMOTE_TOKEN}` },
        body: "odd,host=seed v=0i 1",
      });
      expect(seeded.status).toBe(204);
      const dir = await mkdtemp(join(tmpdir(), "edr-chaos-"));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));

      const faults = chaos(new Rng(SEED, 1));
      remote.faults.perRequest(faults.choose);

      const edr = new KilledAndRestarted({
        args: [
          "listen",
          "--listen",
          "127.0.0.1:0",
          "--flush-interval",
          "1s",
          "--local-url",
          local.url,
          "--local-db",
          "edge",
          "--trigger-arguments",
          [
            `host=${remote.url}`,
            "database=central",
            `queue_dir=${dir}`,
            "batch_lines=5",
            "max_in_flight=16",
            "max_retries=3",
            `timeout=${TIMEOUT_MS / 1000}s`,
          ].join(","),
        ],
        env: { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN },
        urlPattern: LISTEN_READY,
      });
      cleanups.push(() => edr.dispose());
      const running = await edr.start();
      const writeUrl = `${running.url}/api/v3/write_lp?db=edge&precision=nanosecond`;
      const headers = { authorization: `Bearer ${LOCAL_TOKEN}` };

      const load = startLoad({
        rng: (w) => new Rng(SEED, 100 + w),
        writers: 4,
        linesPerSecond: 18,
        tables: TABLES,
        hosts: HOSTS,
        backdateMs: 300,
        rewriteShare: 0.1,
        rewriteWithinMs: 1_000,
        target: async () => ({ url: writeUrl, headers, generation: 0 }),
      });
      cleanups.push(() => load.stop());

      // The odd writer: lines of table `odd`, one in four refused by the remote (a string for its integer `v`).
      const oddRng = new Rng(SEED, 200);
      const badLines: StoredPoint[] = [];
      const goodOdd: StoredPoint[] = [];
      let oddWrites = 0;
      let stopOdd = false;
      let oddTime = BigInt(Date.now()) * MS;
      const oddWriter = (async () => {
        while (!stopOdd) {
          const points: StoredPoint[] = [];
          for (let i = oddRng.between(1, 6); i > 0; i--) {
            const host = oddRng.pick(HOSTS);
            oddTime += BigInt(oddRng.between(1, 1_000_000));
            if (oddRng.chance(0.25)) {
              const point: StoredPoint = {
                measurement: "odd",
                tags: { host, writer: "bad" },
                fields: { v: { type: "string", value: `not a number ${badLines.length}` } },
                timeNs: oddTime,
              };
              badLines.push(point);
              points.push(point);
            } else {
              const point: StoredPoint = {
                measurement: "odd",
                tags: { host, writer: "good" },
                fields: { w: { type: "float", value: oddRng.between(-800, 800) / 8 } },
                timeNs: oddTime,
              };
              goodOdd.push(point);
              points.push(point);
            }
          }
          const body = points.map((p) => formatPoint(p)).join("\n");
          const res = await fetch(writeUrl, { method: "POST", headers, body }).catch(() => undefined);
          const status = res?.status;
          await res?.text();
          // The local instance is not faulted: a write answered otherwise (or not at all) is a failure of its
          // own, and sending it again could accept its lines twice.
          if (status !== 204)
            throw new Error(`${tag} the odd writer's write was answered ${status ?? "with no answer"}`);
          oddWrites++;
          await sleep(oddRng.between(100, 300));
        }
      })();
      cleanups.push(async () => {
        stopOdd = true;
        await oddWriter.catch(() => undefined);
      });

      let status: ReplicatorStatus = await fetchStatus(running.url);
      const describeState = () => `${JSON.stringify(status)}\n${edr.output(1).slice(-6_000)}`;
      // Writes go on; the remote misbehaves the whole time.
      await sleep(WRITE_MS);
      stopOdd = true;
      await Promise.all([load.stop(), oddWriter]);
      const writesEndedMs = Date.now();
      status = await fetchStatus(running.url);
      const queuedAtWriteEnd = status.lines.queued;

      // The queue drains under the same faults.
      await until(
        `${tag} everything delivered or dead-lettered`,
        async () => {
          status = await fetchStatus(running.url);
          return (
            status.lines.queued === 0 &&
            status.queue.entries === 0 &&
            status.intake?.entries === 0 &&
            status.reconciled &&
            status.state === "healthy"
          );
        },
        120_000,
        describeState,
        100,
      );
      const drainedMs = Date.now();
      remote.faults.perRequest(undefined);
      const final = status;

      // What was written: the local instance holds it all (it was never faulted).
      const stats = load.stats();
      const unanswered = load.writes.filter((w) => w.attempts.at(-1)?.outcome !== "204");
      expect(unanswered.length, `${tag} writes never answered 204`).toBe(0);
      expect(stats.lost + stats.refused, `${tag} writes whose answer was lost`).toBe(0);
      const accepted = stats.lines + goodOdd.length + badLines.length;

      // The counters: every line accepted, delivered or dead-lettered; the dead letters are the bad lines.
      expect(final, `${tag} seed ${SEED}: ${describeState()}`).toMatchObject({
        state: "healthy",
        reconciled: true,
      });
      expect(final.lines, `${tag} seed ${SEED}: ${describeState()}`).toMatchObject({
        queuedAtStart: 0,
        accepted,
        delivered: accepted - badLines.length,
        deadLettered: badLines.length,
        queued: 0,
        refused: 0,
        dropped: 0,
      });
      expect(final.deadLettersByStatus).toEqual({ "400": badLines.length });

      // The remote: every good line with its last value, none of the bad ones.
      const versions: Versions = new Map();
      for (const [slot, { point, versions: v }] of load.model.slots)
        versions.set(slot, { point, texts: v.map(fieldsText) });
      for (const point of goodOdd)
        versions.set(pointSlot(point), { point, texts: [fieldsText(point.fields)] });
      const held = [
        ...TABLES.flatMap((t) => remote.points("central", t)),
        ...remote.points("central", "odd").filter((p) => p.tags["host"] !== "seed"),
      ];
      const report = compareStore(held, versions);
      const where = `${tag} seed ${SEED}: the remote`;
      expect(report.twice, `${where}: series and times held twice: ${firstFew(report.twice)}`).toEqual([]);
      expect(report.missing, `${where}: good lines missing: ${firstFew(report.missing)}`).toEqual([]);
      expect(
        report.unexpected,
        `${where}: never written, or a bad line: ${firstFew(report.unexpected)}`,
      ).toEqual([]);
      expect(
        report.neverWritten,
        `${where}: a value never written: ${firstFew(report.neverWritten)}`,
      ).toEqual([]);
      expect(
        report.stale,
        `${where}: an older value than the last written: ${firstFew(report.stale)}`,
      ).toEqual([]);
      const localHeld = [...TABLES, "odd"].flatMap((t) => local.points("edge", t));
      const expectedRemote = localHeld.filter((p) => p.fields["v"] === undefined);
      expect(sortStoredPoints(held)).toEqual(sortStoredPoints(expectedRemote));
      expect(remote.points("central", "odd").filter((p) => p.fields["v"]?.type === "string")).toEqual([]);

      // The dead letters: `edr dead-letter list --json` while edr runs, and the file itself once it ended.
      const listed = await runEdr(["dead-letter", "list", "--queue-dir", dir, "--queue", "writes", "--json"]);
      expect(listed.code, listed.stderr).toBe(0);
      const letters = listed.stdout
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Letter);
      const ended = await edr.terminate();
      expect(ended, `${tag} edr on SIGTERM\n${edr.output(1)}`).toEqual({ code: 0, signal: null });
      const fileLetters = (await readFile(join(dir, "edr_dead_letter_writes.jsonl"), "utf8"))
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Letter);
      expect(fileLetters).toEqual(letters);

      const lettersOnce = new Map<string, Letter>();
      const twice: string[] = [];
      const ordinals = new Set<number>();
      for (const letter of letters) {
        expect(letter.table).toBe("odd");
        expect(letter.status, `${tag} a letter's status: ${JSON.stringify(letter)}`).toBe(400);
        expect(letter.reason, `${tag} a letter's reason: ${JSON.stringify(letter)}`).toMatch(
          /invalid column type for column "v"/,
        );
        expect(Number.isNaN(Date.parse(letter.time))).toBe(false);
        const [parsed] = parseBody(letter.line);
        const slot = pointSlot({
          measurement: parsed!.measurement,
          tags: parsed!.tags,
          timeNs: parsed!.timeNs!,
        });
        if (lettersOnce.has(slot) || ordinals.has(letter.ordinal)) twice.push(letter.line);
        lettersOnce.set(slot, letter);
        ordinals.add(letter.ordinal);
      }
      expect(twice, `${tag} lines dead-lettered twice: ${firstFew(twice)}`).toEqual([]);
      const badSlots = new Map(badLines.map((p) => [pointSlot(p), p]));
      const notBad = [...lettersOnce.entries()]
        .filter(([slot]) => !badSlots.has(slot))
        .map(([, l]) => l.line);
      expect(notBad, `${tag} good lines dead-lettered: ${firstFew(notBad)}`).toEqual([]);
      const missingLetters = [...badSlots.keys()].filter((slot) => !lettersOnce.has(slot));
      expect(missingLetters, `${tag} bad lines neither dead-lettered: ${firstFew(missingLetters)}`).toEqual(
        [],
      );
      for (const [slot, letter] of lettersOnce) {
        const [parsed] = parseBody(letter.line);
        expect(fieldsText(parsed!.fields), `${tag} the letter of ${slot}`).toBe(
          fieldsText(badSlots.get(slot)!.fields),
        );
      }
      // Never both: no bad line at the remote, no dead letter whose series and time the remote holds.
      const heldSlots = new Set(held.map(pointSlot));
      expect([...lettersOnce.keys()].filter((slot) => heldSlots.has(slot))).toEqual([]);

      // The proof is about something: thousands of requests, each kind of fault many times, partial writes.
      const writeRequests = remote.requests.filter((r) => r.path === "/api/v3/write_lp").length;
      expect(writeRequests, `${tag} write requests the remote received`).toBeGreaterThan(1_500);
      for (const fault of FAULTS)
        expect(faults.chosen.get(fault.name) ?? 0, `${tag} times "${fault.name}" was chosen`).toBeGreaterThan(
          fault.share >= 0.02 ? 10 : 0,
        );
      for (const answer of ["429", "503", "500", "413", "400", "timeout", "connection"])
        expect(
          final.answersByStatus[answer] ?? 0,
          `${tag} answers ${answer} edr counted: ${JSON.stringify(final.answersByStatus)}`,
        ).toBeGreaterThan(0);
      expect(badLines.length).toBeGreaterThan(50);
      expect(load.model.rewritten()).toBeGreaterThan(20);

      summary.push(
        `${tag} ${stats.writes + oddWrites} writes of ${accepted} lines (${badLines.length} bad, ` +
          `${load.model.rewritten()} series+times rewritten); ${writeRequests} write requests to the remote, ` +
          `faults chosen ${JSON.stringify(Object.fromEntries(faults.chosen))}; edr counted answers ` +
          `${JSON.stringify(final.answersByStatus)}, retries ${JSON.stringify(final.retriesByStatus)}; ` +
          `${queuedAtWriteEnd} lines queued when the writes ended, drained ${((drainedMs - writesEndedMs) / 1000).toFixed(1)} s later; ` +
          `${letters.length} dead letters; ${((Date.now() - startedMs) / 1000).toFixed(1)} s in all`,
      );
      console.log(summary.at(-1));
    },
  );
});
