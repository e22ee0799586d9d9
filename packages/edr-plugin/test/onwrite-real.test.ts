// On-write replication end to end on real servers: `edr listen` in a child process, as users run it, in
// front of a real InfluxDB 1.6.7 (the local instance, v1 writes forwarded), replicating to a second database of
// the same 1.6.7 (the remote, v1 writes) through a proxy that really takes the remote away for a few seconds.
// Six clients write at once: seeded points with hostile names and values, some bodies gzipped, precisions
// ns, ms and s, lines without timestamps, bad lines (parse errors, type conflicts) mixed in. Afterwards the
// remote must hold exactly what the local instance accepted, point by point, and `/status` must reconcile.
//
// Replay a failure with its seed: EDR_ONWRITE_SEED=<seed> npx vitest run --project edr-plugin test/onwrite-real.test.ts
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import {
  createInfluxDB1Database,
  readInfluxDB1Points,
  sortStoredPoints,
  type StoredField,
  type StoredPoint,
} from "edr-testkit";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { ReplicatorStatus } from "../src/replicator-types.js";
import { startEdr, type EdrChild } from "./edr-child.js";
import {
  Random,
  define,
  describeDifference,
  generatePoints,
  toLineProtocol,
  type TableSpec,
} from "./real-points.js";
import { startRemoteProxy, type RemoteProxy } from "./real-remote-proxy.js";

const REMOTE_TOKEN = "onwrite-real-remote-token-73301";
const LOCAL_TOKEN = "onwrite-real-local-token-88117";
const SEED = Number(process.env["EDR_ONWRITE_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 6;
const S = 1_000_000_000n;
/**
 * Timestamped points go from here on, one second apart per client and table: all inside one shard of 1.6.7
 * (shard groups of a week start on Thursdays; 2025-01-09 is one), so a field's type is the same for every
 * line and a line of another type conflicts. Lines without a timestamp land at the current time, elsewhere.
 */
const BASE_NS = BigInt(Date.parse("2025-01-10T00:00:00Z")) * 1_000_000n;

const HOSTS = ["a b", "c,d", "e=f", '"quoted"', "back\\slash", "ünï 漢字 😀", "__proto__", "x"];
const TABLES: readonly TableSpec[] = [
  {
    name: 'cpu, "load"',
    count: 15_000,
    tags: [
      { key: "host name", values: HOSTS, presence: 0.9 },
      { key: "rack=row", values: ["r1", "r 2", "r,3"], presence: 0.5 },
    ],
    fields: [
      { key: "usage", type: "float", presence: 0.9 },
      { key: "x,y", type: "integer", presence: 0.5 },
      { key: '"quoted"', type: "string", presence: 0.4 },
      { key: "ok", type: "boolean", presence: 0.5 },
    ],
  },
  {
    name: "mem\\stats 温度",
    count: 15_000,
    tags: [
      { key: "host name", values: HOSTS, presence: 0.9 },
      { key: "zone", values: ["eu", "us west", "ap=1"], presence: 0.8 },
    ],
    fields: [
      { key: "used %", type: "integer", presence: 0.9 },
      { key: "free", type: "float", presence: 0.9 },
      { key: "note", type: "string", presence: 0.5 },
    ],
  },
  {
    name: "net 🚀",
    count: 15_000,
    tags: [
      { key: "iface", values: ["eth0", "wlan 0", "lo,x"], presence: 1 },
      { key: "dir", values: ["in", "out"], presence: 0.7 },
    ],
    fields: [
      { key: "bytes", type: "integer", presence: 0.8 },
      { key: "rate", type: "float", presence: 0.8 },
      { key: "up", type: "boolean", presence: 0.6 },
      { key: "msg", type: "string", presence: 0.3 },
    ],
  },
];

const escapeMeasurement = (name: string): string => name.replace(/[, ]/g, (c) => `\\${c}`);
const escapeKey = (name: string): string => name.replace(/[,= ]/g, (c) => `\\${c}`);

/** A value of the field's type, and one of another type (a type conflict with the stored column). */
const GOOD_VALUE = { float: "1.5", integer: "3i", string: '"s"', boolean: "true" } as const;
const WRONG_VALUE = { float: '"text"', integer: "2.5", string: "4i", boolean: "5i" } as const;

type Precision = "ns" | "ms" | "s";
/** The v1 spellings sent for each precision (`""`: no parameter, nanoseconds by default). */
const PRECISION_PARAM: Record<Precision, string[]> = { ns: ["", "n", "ns"], ms: ["ms"], s: ["s"] };
const UNIT_NS: Record<Precision, bigint> = { ns: 1n, ms: 1_000_000n, s: S };

/** One write a client sent, and what it expects of the local instance. */
interface SentWrite {
  client: number;
  gzip: boolean;
  precision: Precision;
  good: number;
  bad: number;
  unstamped: number;
  status: number | string;
  answer: string;
  /** When the answer came (epoch ms). */
  atMs: number;
}

let databases = 0;

describe("on-write replication on real servers (edr listen in front of InfluxDB 1.6.7, remote 1.6.7 over v1)", () => {
  const url = inject("influxdb1Url");
  let dir: string | undefined;
  let edr: EdrChild | undefined;
  let proxy: RemoteProxy | undefined;

  afterEach(async () => {
    if (edr !== undefined && edr.process.exitCode === null && edr.process.signalCode === null) {
      edr.process.kill("SIGKILL");
      await edr.exited;
    }
    edr = undefined;
    await proxy?.close();
    proxy = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it(
    `replicates exactly what 1.6.7 accepted from concurrent clients, through a remote outage (seed ${SEED})`,
    { timeout: 90_000 },
    async () => {
      console.log(`[onwrite-real] seed ${SEED} (replay with EDR_ONWRITE_SEED=${SEED})`);
      const n = ++databases;
      const localDb = `edr_onwrite_${process.pid}_${n}_local`;
      const remoteDb = `edr_onwrite_${process.pid}_${n}_remote`;
      await createInfluxDB1Database(url, localDb);
      await createInfluxDB1Database(url, remoteDb);
      dir = await mkdtemp(join(tmpdir(), "edr-onwrite-real-"));
      proxy = await startRemoteProxy(url);
      const remoteProxy = proxy;

      edr = startEdr(
        [
          "listen",
          "--listen",
          "127.0.0.1:0",
          "--local-url",
          url,
          "--local-db",
          localDb,
          "--flush-interval",
          "1s",
          "--trigger-arguments",
          `host=${proxy.url},database=${remoteDb},write_api=v1,queue_dir=${dir},max_retries=1,timeout=10s`,
        ],
        { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN },
      );
      const ready = /point your clients at (http:\/\/127\.0\.0\.1:\d+)/;
      await edr.waitFor(ready);
      const listenUrl = ready.exec(edr.stderr())![1]!;
      const child = edr;
      const status = async (): Promise<ReplicatorStatus> =>
        (await (await fetch(`${listenUrl}/status`)).json()) as ReplicatorStatus;

      // What the local instance must hold (timestamped lines; untimed ones are checked apart).
      const model: StoredPoint[] = [];
      let acceptedLines = 0;
      let unstampedLines = 0;
      const sent: SentWrite[] = [];
      const post = async (body: string, precision: string, gzip: boolean) => {
        const query = precision === "" ? "" : `&precision=${precision}`;
        const headers: Record<string, string> = { authorization: `Token ${LOCAL_TOKEN}` };
        if (gzip) headers["content-encoding"] = "gzip";
        const res = await fetch(`${listenUrl}/write?db=${encodeURIComponent(localDb)}${query}`, {
          method: "POST",
          headers,
          body: gzip ? gzipSync(body) : body,
        });
        return { status: res.status, body: await res.text() };
      };

      // Every field exists in the shard before the clients start, so a line of another type conflicts.
      const setup = TABLES.map(
        (table) =>
          `${escapeMeasurement(table.name)},client=setup ` +
          table.fields.map((f) => `${escapeKey(f.key)}=${GOOD_VALUE[f.type]}`).join(",") +
          ` ${BASE_NS - S}`,
      );
      expect(await post(setup.join("\n"), "", false), `seed ${SEED}`).toEqual({ status: 204, body: "" });
      acceptedLines += setup.length;
      for (const table of TABLES) {
        const fields: Record<string, StoredField> = {};
        for (const f of table.fields) {
          const value: StoredField =
            f.type === "float"
              ? { type: "float", value: 1.5 }
              : f.type === "integer"
                ? { type: "integer", value: 3n }
                : f.type === "string"
                  ? { type: "string", value: "s" }
                  : { type: "boolean", value: true };
          define(fields, f.key, value);
        }
        model.push({ measurement: table.name, tags: { client: "setup" }, fields, timeNs: BASE_NS - S });
      }

      const pool = generatePoints(SEED, TABLES, { startNs: 0n, endNs: 1n << 40n, edges: [] });
      let stopClients = false;
      const startedMs = Date.now();

      const client = async (k: number): Promise<void> => {
        const random = new Random((SEED ^ Math.imul(k + 1, 0x9e3779b1)) >>> 0);
        const points = pool.filter((_, i) => i % CLIENTS === k);
        let next = 0;
        const counters = new Map<string, bigint>();
        while (!stopClients && next < points.length) {
          const precision: Precision = random.pick(["ns", "ns", "ns", "ms", "s"] as const);
          const unit = UNIT_NS[precision];
          const gzip = random.chance(0.3);
          const allBad = random.chance(0.05);
          const good = allBad ? 0 : 1 + random.int(60);
          const lines: string[] = [];
          const write: SentWrite = {
            client: k,
            gzip,
            precision,
            good: 0,
            bad: 0,
            unstamped: 0,
            status: "pending",
            answer: "",
            atMs: 0,
          };
          /** The next timestamp of this client in `table`, in ns, whole in the write's precision. */
          const nextTime = (table: string): bigint => {
            const c = counters.get(table) ?? 0n;
            counters.set(table, c + 1n);
            const jitter = precision === "s" ? 0n : (BigInt(random.int(1_000_000_000)) / unit) * unit;
            return BASE_NS + c * S + jitter;
          };
          for (let i = 0; i < good && next < points.length; i++) {
            const generated = points[next++]!;
            const tags = { ...generated.tags };
            define(tags, "client", `c${k}`);
            const untimed = random.chance(0.1);
            const timeNs = untimed ? 0n : nextTime(generated.measurement);
            const point: StoredPoint = { ...generated, tags, timeNs };
            const text = toLineProtocol(point, random);
            const withoutTime = text.slice(0, text.length - String(timeNs).length - 1);
            if (untimed) {
              lines.push(withoutTime);
              write.unstamped++;
            } else {
              lines.push(`${withoutTime} ${timeNs / unit}`);
              model.push(point);
            }
            write.good++;
          }
          // Bad lines at random places: parse errors of several kinds and type conflicts.
          const bad = allBad ? 1 + random.int(3) : random.chance(0.35) ? 1 + random.int(3) : 0;
          for (let b = 0; b < bad; b++) {
            const table = random.pick(TABLES);
            const m = escapeMeasurement(table.name);
            const field = random.pick(table.fields);
            const f = escapeKey(field.key);
            const tag = escapeKey(random.pick(table.tags).key);
            const time = nextTime(table.name) / unit;
            const line = random.pick([
              `${m},client=c${k} ${f}= ${time}`, // a field without a value
              `${m},${tag}= ${f}=${GOOD_VALUE[field.type]} ${time}`, // a tag without a value
              `${m},client=c${k} ${time}`, // no fields
              `${m},client=c${k} ${f}=${GOOD_VALUE[field.type]} 12x${time}`, // not a timestamp
              `${m},client=c${k} ${f}=1.2.3 ${time}`, // not a number
              `${m},client=c${k} ${f}=${WRONG_VALUE[field.type]} ${time}`, // a type conflict
              `${m},client=c${k} ${f}=${WRONG_VALUE[field.type]} ${time}`,
            ]);
            lines.splice(random.int(lines.length + 1), 0, line);
            write.bad++;
          }
          if (random.chance(0.1)) lines.splice(random.int(lines.length + 1), 0, "# a comment", "");
          const answer = await post(lines.join("\n"), random.pick(PRECISION_PARAM[precision]), gzip);
          write.status = answer.status;
          write.answer = answer.body;
          write.atMs = Date.now();
          sent.push(write);
          acceptedLines += write.good;
          unstampedLines += write.unstamped;
          await sleep(random.int(60));
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, k) => client(k));

      // The remote goes away for a few seconds in the middle, while the clients keep writing.
      await sleep(2_000);
      const states = new Set<string>();
      let polling = true;
      const poller = (async () => {
        while (polling) {
          states.add((await status()).state);
          await sleep(100);
        }
      })();
      // It goes down right after the remote stored a write whose answer is then lost: edr sends it again.
      await remoteProxy.downAfterWrites(1);
      const downAt = Date.now();
      let upAt = 0;
      try {
        const deadline = Date.now() + 20_000;
        while (!states.has("degraded") || Date.now() < downAt + 3_000) {
          expect(
            Date.now(),
            `seed ${SEED}: /status never said degraded while the remote was down`,
          ).toBeLessThan(deadline);
          await sleep(100);
        }
      } finally {
        await remoteProxy.up();
        upAt = Date.now();
      }
      polling = false;
      await poller;
      const degradedSeen = states.has("degraded");
      await sleep(2_000);
      stopClients = true;
      await Promise.all(clients);
      const endedMs = Date.now();

      // Until everything written has left the intake and reached the remote.
      const deadline = Date.now() + 40_000;
      let last = await status();
      while (!(last.intake?.entries === 0 && last.lines.queued === 0 && last.state === "healthy")) {
        expect(Date.now(), `seed ${SEED}: not drained: ${JSON.stringify(last)}`).toBeLessThan(deadline);
        await sleep(200);
        last = await status();
      }
      const metrics = await (await fetch(`${listenUrl}/metrics`)).text();

      // Each write was answered as 1.6.7 answers: 204 when every line was good, 400 when any was bad.
      const total = sent.reduce((sum, w) => sum + w.good + w.bad, 0);
      console.log(
        `[onwrite-real] seed ${SEED}: ${sent.length} writes (${sent.filter((w) => w.gzip).length} gzipped, ` +
          `${sent.filter((w) => w.bad > 0).length} with bad lines), ${total} lines, ${unstampedLines} untimed; ` +
          `outage ${remoteProxy.stats.outages}, ${remoteProxy.stats.cut} requests cut; ` +
          `${((endedMs - startedMs) / 1000).toFixed(1)} s of writes`,
      );
      const wrongAnswers = sent.filter((w) => w.status !== (w.bad > 0 ? 400 : 204));
      expect(wrongAnswers, `seed ${SEED}: writes answered otherwise than 1.6.7 would`).toEqual([]);
      expect(sent.filter((w) => w.precision !== "ns").length).toBeGreaterThan(0);
      // The clients wrote before, during and after the outage.
      expect(sent.filter((w) => w.atMs < downAt).length, `seed ${SEED}`).toBeGreaterThan(20);
      expect(sent.filter((w) => w.atMs > downAt && w.atMs < upAt).length, `seed ${SEED}`).toBeGreaterThan(20);
      expect(sent.filter((w) => w.atMs > upAt).length, `seed ${SEED}`).toBeGreaterThan(20);
      expect(sent.filter((w) => w.gzip && w.bad > 0).length).toBeGreaterThan(0);

      // The local instance holds the good lines and none of the bad ones: the timestamped ones exactly, the
      // untimed ones at the time edr listen stamped them (lines of one series stamped alike are one point).
      const localPoints = await readInfluxDB1Points(url, localDb);
      const timed = localPoints.filter((p) => p.timeNs < BASE_NS + 10_000_000n * S);
      const untimed = localPoints.filter((p) => p.timeNs >= BASE_NS + 10_000_000n * S);
      expect(describeDifference(timed, model), `seed ${SEED}: local database`).toBeUndefined();
      expect(untimed.length).toBeGreaterThan(0);
      expect(untimed.length).toBeLessThanOrEqual(unstampedLines);
      for (const p of untimed) {
        expect(p.timeNs).toBeGreaterThanOrEqual(BigInt(startedMs - 1000) * 1_000_000n);
        expect(p.timeNs).toBeLessThanOrEqual(BigInt(endedMs + 1000) * 1_000_000n);
      }

      // The remote holds exactly what the local instance accepted, point by point.
      const remotePoints = sortStoredPoints(await readInfluxDB1Points(url, remoteDb));
      expect(describeDifference(remotePoints, localPoints), `seed ${SEED}: remote database`).toBeUndefined();
      expect(remotePoints).toEqual(sortStoredPoints(localPoints));

      // The counters reconcile: every good line accepted once, delivered once, none dead-lettered.
      expect(degradedSeen, `seed ${SEED}: states seen while down: ${[...states].join(", ")}`).toBe(true);
      expect(remoteProxy.stats).toMatchObject({ outages: 1, storedButCut: 1 });
      expect(last, `seed ${SEED}`).toMatchObject({ state: "healthy", reconciled: true, mode: "writes" });
      expect(last.lines, `seed ${SEED}`).toMatchObject({
        queuedAtStart: 0,
        accepted: acceptedLines,
        delivered: acceptedLines,
        deadLettered: 0,
        queued: 0,
        dropped: 0,
        refused: 0,
      });
      expect(last.deadLettersByStatus).toEqual({});
      expect(last.answersByStatus["204"], `seed ${SEED}`).toBeGreaterThan(0);
      // The outage was seen by the sink: requests that failed to connect (or were cut) and were sent again.
      expect(Object.keys(last.answersByStatus), `seed ${SEED}`).not.toEqual(["204"]);
      const deadLetters = join(dir, "edr_dead_letter_writes.jsonl");
      expect(existsSync(deadLetters) ? statSync(deadLetters).size : 0).toBe(0);
      expect(metrics).toMatch(new RegExp(`^edr_lines_delivered_total ${acceptedLines}$`, "m"));

      // SIGTERM ends it cleanly; no token appears anywhere it wrote.
      child.process.kill("SIGTERM");
      expect((await child.exited).code).toBe(0);
      for (const output of [child.stdout(), child.stderr(), JSON.stringify(last), metrics]) {
        expect(output).not.toContain(REMOTE_TOKEN);
        expect(output).not.toContain(LOCAL_TOKEN);
      }
    },
  );
});
