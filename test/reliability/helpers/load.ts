// A steady write load, as clients of the local instance produce it: several writers, each sending batches of
// lines at a set rate, one write at a time, and sending a write again until it is answered 204 (a write whose
// answer was lost because the server died is sent again, as a real client does). Each writer owns its series
// (tag `writer`), so the order of one series is the order its writer sent it in; some lines write a point
// again (same series and time) with other values, so that order shows at the remote.
//
// `WrittenModel` keeps every value written for every series and time, in order: the last is what the local
// instance holds, the others are values the remote may have seen on the way but must not keep.
import { setTimeout as sleep } from "node:timers/promises";
import type { StoredField, StoredPoint } from "edr-testkit";
import { formatPoint } from "./line-protocol.js";
import type { Rng } from "./seed.js";

const MS = 1_000_000n;

/** The key of a point's series and time: measurement, tags in key order, timestamp. */
export function pointSlot(point: {
  measurement: string;
  tags: Record<string, string>;
  timeNs: bigint;
}): string {
  const tags = Object.entries(point.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([point.measurement, tags, String(point.timeNs)]);
}

/** Field values as one exact text (type and value; -0 apart from 0; key order does not count). */
export function fieldsText(fields: Record<string, StoredField>): string {
  return JSON.stringify(
    Object.entries(fields)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, f]) => [
        key,
        f.type,
        f.type === "float" && Object.is(f.value, -0) ? "-0" : String(f.value),
      ]),
  );
}

/** Every value written to each series and time, in the order written. */
export class WrittenModel {
  readonly slots = new Map<string, { point: StoredPoint; versions: Record<string, StoredField>[] }>();

  add(point: StoredPoint): void {
    const slot = pointSlot(point);
    const entry = this.slots.get(slot);
    if (entry === undefined) this.slots.set(slot, { point, versions: [point.fields] });
    else entry.versions.push(point.fields);
  }

  /** What the local instance must hold: each series and time with its last value. */
  final(): StoredPoint[] {
    return [...this.slots.values()].map(({ point, versions }) => ({ ...point, fields: versions.at(-1)! }));
  }

  /** The series and times written more than once with different values. */
  rewritten(): number {
    let n = 0;
    for (const { versions } of this.slots.values()) if (new Set(versions.map(fieldsText)).size > 1) n++;
    return n;
  }
}

/** Where and how a writer sends: resolved before each attempt (the server may have been restarted elsewhere). */
export interface WriteTarget {
  url: string;
  headers: Record<string, string>;
  /** Which process the attempt goes to (for the log of lost answers); 0 when it never changes. */
  generation: number;
}

export interface LoadOptions {
  /** Independent random stream per writer. */
  rng: (writer: number) => Rng;
  writers: number;
  /** Lines per second, per writer. */
  linesPerSecond: number;
  tables: readonly string[];
  hosts: readonly string[];
  /** Timestamps are the write's time minus 0..`backdateMs` (plus random nanoseconds). */
  backdateMs: number;
  /** Share of lines that write again a point this writer wrote in the last `rewriteWithinMs` (by its timestamp). */
  rewriteShare: number;
  rewriteWithinMs: number;
  target: () => Promise<WriteTarget>;
}

/** One attempt of a write. */
export interface Attempt {
  generation: number;
  /** `204`, another status, `refused` (no connection), `lost` (sent; the connection died without an answer). */
  outcome: string;
}

/** One write (a batch of lines), its attempts and when it was answered 204. */
export interface WriteRecord {
  writer: number;
  lines: number;
  rewrites: number;
  /** Oldest timestamp in the write. */
  minTimeNs: bigint;
  attempts: Attempt[];
  answeredAtMs: number | undefined;
}

const STRINGS = [
  "plain",
  'say "hi"',
  "c:\\dir\\",
  "line1\nline2",
  "ünï 漢字 😀",
  "tab\there",
  "",
  "=,; {}[] 'single'",
  "ends with backslash\\",
];

/** Values of every type: integers for sum/count/min/max, eighths for float sums that are exact in any order. */
function randomFields(rng: Rng): Record<string, StoredField> {
  return {
    n: { type: "integer", value: BigInt(rng.between(-1000, 1000)) },
    c: { type: "integer", value: BigInt(rng.between(0, 50)) },
    lo: { type: "integer", value: BigInt(rng.between(-1_000_000, 1_000_000)) },
    hi: { type: "integer", value: BigInt(rng.between(-1_000_000, 1_000_000)) },
    f: { type: "float", value: rng.between(-8000, 8000) / 8 },
    md: { type: "float", value: rng.between(-800, 800) / 8 },
    s: { type: "string", value: `${rng.pick(STRINGS)}${rng.between(0, 99)}` },
    b: { type: "boolean", value: rng.chance(0.5) },
  };
}

/** A running load: stop it, then read what was written. */
export interface Load {
  readonly model: WrittenModel;
  readonly writes: readonly WriteRecord[];
  /** Latest timestamp written. */
  maxTimeNs(): bigint;
  /** Stops the writers after their current write (which is still sent until answered 204). */
  stop(): Promise<void>;
  /** Lines written so far (rewrites included), writes answered 204. */
  stats(): {
    lines: number;
    rewrites: number;
    writes: number;
    lost: number;
    refused: number;
    other: Record<string, number>;
  };
}

/** Starts `options.writers` writers. */
export function startLoad(options: LoadOptions): Load {
  const model = new WrittenModel();
  const writes: WriteRecord[] = [];
  let stopping = false;
  let maxTimeNs = 0n;

  const writer = async (w: number): Promise<void> => {
    const rng = options.rng(w);
    const used = new Set<string>();
    /** Points of this writer's earlier writes, newest last, for rewrites. */
    const recent: StoredPoint[] = [];
    let paceFrom = Date.now();
    let paced = 0;
    while (!stopping) {
      const count = rng.between(10, 50);
      const nowMs = Date.now();
      const points: StoredPoint[] = [];
      const slots = new Set<string>();
      let rewrites = 0;
      // Recent points old enough to be in an earlier write, young enough to be rewritten.
      const fresh = recent.filter((p) => p.timeNs >= BigInt(nowMs - options.rewriteWithinMs) * MS);
      for (let i = 0; i < count; i++) {
        if (fresh.length > 0 && rng.chance(options.rewriteShare)) {
          const old = rng.pick(fresh);
          const slot = pointSlot(old);
          if (slots.has(slot)) continue; // once per write: the order inside one write is not what is tested
          slots.add(slot);
          points.push({ ...old, fields: randomFields(rng) });
          rewrites++;
          continue;
        }
        const measurement = rng.pick(options.tables);
        const tags = { host: rng.pick(options.hosts), writer: `w${w}` };
        let timeNs: bigint;
        let key: string;
        do {
          timeNs = BigInt(nowMs - rng.between(0, options.backdateMs)) * MS + BigInt(rng.between(0, 999_999));
          key = `${measurement} ${tags.host} ${timeNs}`;
        } while (used.has(key));
        used.add(key);
        const point: StoredPoint = { measurement, tags, fields: randomFields(rng), timeNs };
        slots.add(pointSlot(point));
        points.push(point);
      }
      const record: WriteRecord = {
        writer: w,
        lines: points.length,
        rewrites,
        minTimeNs: points.reduce((m, p) => (p.timeNs < m ? p.timeNs : m), points[0]!.timeNs),
        attempts: [],
        answeredAtMs: undefined,
      };
      writes.push(record);
      // The model takes the values in the order they are sent: each writer sends one write at a time, until 204.
      for (const p of points) {
        model.add(p);
        if (p.timeNs > maxTimeNs) maxTimeNs = p.timeNs;
      }
      const body = points.map((p) => formatPoint(p, rng.between(0, 4))).join("\n");
      for (;;) {
        const target = await options.target();
        const attempt: Attempt = { generation: target.generation, outcome: "pending" };
        record.attempts.push(attempt);
        try {
          const res = await fetch(target.url, {
            method: "POST",
            headers: target.headers,
            body,
            signal: AbortSignal.timeout(30_000),
          });
          const text = await res.text();
          attempt.outcome = String(res.status);
          if (res.status !== 204) attempt.outcome += ` ${text.slice(0, 200)}`;
        } catch (error) {
          const code = (error as { cause?: { code?: string } }).cause?.code;
          attempt.outcome = code === "ECONNREFUSED" ? "refused" : "lost";
        }
        if (attempt.outcome === "204") break;
        await sleep(attempt.outcome === "lost" || attempt.outcome === "refused" ? 20 : 200);
      }
      record.answeredAtMs = Date.now();
      for (const p of points) recent.push(p);
      if (recent.length > 400) recent.splice(0, recent.length - 400);
      // Keep the rate; after a long stall (a restart) start counting again rather than bursting.
      paced += points.length;
      const dueMs = paceFrom + (paced / options.linesPerSecond) * 1000;
      const waitMs = dueMs - Date.now();
      if (waitMs < -500) {
        paceFrom = Date.now();
        paced = 0;
      } else if (waitMs > 0) await sleep(waitMs);
    }
  };
  const running = Array.from({ length: options.writers }, (_, w) => writer(w));

  return {
    model,
    writes,
    maxTimeNs: () => maxTimeNs,
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
    stats() {
      const other: Record<string, number> = {};
      let lost = 0;
      let refused = 0;
      for (const write of writes) {
        for (const { outcome } of write.attempts) {
          if (outcome === "204" || outcome === "pending") continue;
          if (outcome === "lost") lost++;
          else if (outcome === "refused") refused++;
          else other[outcome] = (other[outcome] ?? 0) + 1;
        }
      }
      return {
        lines: writes.reduce((sum, w) => sum + w.lines, 0),
        rewrites: writes.reduce((sum, w) => sum + w.rewrites, 0),
        writes: writes.filter((w) => w.answeredAtMs !== undefined).length,
        lost,
        refused,
        other,
      };
    },
  };
}
