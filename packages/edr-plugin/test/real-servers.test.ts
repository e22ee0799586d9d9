// Scheduled replication end to end on real servers: InfluxDB 1.6.7 as the local instance (read with
// InfluxQL) and a second database of the same 1.6.7 as the remote (v1 writes, through a proxy that can stop
// the remote mid-run). 100,000 seeded points with hostile names and values; the remote must hold exactly the
// points the test computes on its own from what it generated, compared point by point.
//
// Replay a failure with its seed: EDR_REAL_SEED=<seed> npx vitest run --project edr-plugin test/real-servers.test.ts
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseScheduledConfig } from "edr-args";
import {
  createInfluxDB1Database,
  readInfluxDB1Points,
  sortStoredPoints,
  writeInfluxDB1,
  type StoredField,
  type StoredPoint,
} from "edr-testkit";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createReplicator } from "../src/replicator.js";
import type { CallReport, Replicator } from "../src/replicator-types.js";
import {
  Random,
  define,
  describeDifference,
  generatePoints,
  toLineProtocol,
  type TableSpec,
  type TimeLayout,
} from "./real-points.js";
import { startRemoteProxy, type RemoteProxy } from "./real-remote-proxy.js";

const TOKEN = "real-remote-dummy-token-31415";
const LOCAL_TOKEN = "real-local-dummy-token-27182";
const HOUR_MS = 3_600_000;
const H = 3_600_000_000_000n; // one hour in ns
/** Seeds of the two tests; EDR_REAL_SEED replaces the first (the second is the next integer). */
const SEED = Number(process.env["EDR_REAL_SEED"] ?? 20_260_101);

// The time layout. The first call, at -1h with window=1h, copies [-2h, -1h); the second, at +3h, catches up
// [-1h, +3h) in four one-hour chunks. So [-2h, +3h) reaches the remote: points before 1970 included.
const CALL_1 = new Date(-HOUR_MS);
const CALL_2 = new Date(3 * HOUR_MS);
const COPIED_FROM = -2n * H;
const COPIED_TO = 3n * H;
const LAYOUT: TimeLayout = {
  startNs: COPIED_FROM,
  endNs: COPIED_TO,
  // Every table gets a point on each edge: of the copied range (in and out), of the two calls, of the epoch,
  // and some before and after the range, which must stay local.
  edges: [
    COPIED_FROM - 1n,
    COPIED_FROM,
    -H - 1n,
    -H,
    -1n,
    0n,
    1n,
    COPIED_TO - 1n,
    COPIED_TO,
    COPIED_FROM - 600_000_000_001n,
    COPIED_TO + 599_999_999_999n,
  ],
};

const HOSTS = ["a b", "c,d", "e=f", '"quoted"', "back\\slash", "ünï 漢字 😀", "__proto__", "x"];

/** 100,000 points in five measurements; names with commas, spaces, `=`, quotes, backslashes and unicode. */
const TABLES: readonly TableSpec[] = [
  {
    name: 'cpu, "load"',
    count: 30_000,
    tags: [
      { key: "host name", values: HOSTS, presence: 0.95 },
      { key: "rack=row", values: ["r1", "r 2", "r,3"], presence: 0.9 },
    ],
    fields: [
      { key: "usage", type: "float", presence: 0.9 },
      { key: "x,y", type: "integer", presence: 0.5 },
      { key: '"quoted"', type: "string", presence: 0.4 },
      { key: "ok", type: "boolean", presence: 0.5 },
    ],
    // Points whose one field is excluded: nothing is left of them to replicate.
    only: { keys: ["x,y"], chance: 0.01 },
  },
  {
    name: "mem\\stats 温度",
    count: 25_000,
    tags: [
      { key: "host name", values: HOSTS, presence: 0.9 },
      { key: "zone", values: ["eu", "us west", "ap=1"], presence: 0.8 },
    ],
    fields: [
      { key: "used %", type: "integer", presence: 0.9 },
      { key: "free", type: "float", presence: 0.9 },
      { key: "junk", type: "string", presence: 0.3 },
      { key: "note", type: "string", presence: 0.5 },
    ],
    only: { keys: ["junk"], chance: 0.01 },
  },
  {
    name: "net 🚀",
    count: 20_000,
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
  {
    // Not in tables=: never read, never at the remote.
    name: "disk",
    count: 10_000,
    tags: [{ key: "dev", values: ["sda", "sdb"], presence: 1 }],
    fields: [{ key: "v", type: "float", presence: 1 }],
  },
  {
    name: 'e=mc² "q"',
    count: 15_000,
    tags: [{ key: "k\\ey", values: ["v1", "tab-free \\value", "漢字"], presence: 0.8 }],
    fields: [
      { key: 'f=1,2 "x"', type: "float", presence: 0.9 },
      { key: "s", type: "string", presence: 0.6 },
      { key: "b", type: "boolean", presence: 0.5 },
      { key: "i", type: "integer", presence: 0.5 },
    ],
  },
];

// The filter, exclusions and renames: as trigger arguments for edr (an object of strings, since names hold
// commas), and again as plain data for the test's own expectation.
const TRANSFORM_ARGS = {
  tables: 'cpu, "load".mem\\stats 温度.net 🚀.e=mc² "q"',
  excluded_fields: 'cpu, "load":rack=row@x,y.mem\\stats 温度:junk',
  tables_rename: 'cpu, "load":cpu=renamed ü.net 🚀:net\\out',
  field_renames: "mem\\stats 温度:used %@used, pct$host name@host key",
};
interface Rule {
  table?: string;
  drop?: readonly string[];
  keys?: Readonly<Record<string, string>>;
}
const RULES = new Map<string, Rule>([
  ['cpu, "load"', { table: "cpu=renamed ü", drop: ["rack=row", "x,y"] }],
  ["mem\\stats 温度", { drop: ["junk"], keys: { "used %": "used, pct", "host name": "host key" } }],
  ["net 🚀", { table: "net\\out" }],
  ['e=mc² "q"', {}],
]);

/** What the remote must hold of `points` copied over `[fromNs, toNs)`: filtered, excluded, renamed. */
function expectedAtRemote(points: readonly StoredPoint[], fromNs: bigint, toNs: bigint): StoredPoint[] {
  const out: StoredPoint[] = [];
  for (const point of points) {
    const rule = RULES.get(point.measurement);
    if (rule === undefined || point.timeNs < fromNs || point.timeNs >= toNs) continue;
    const rename = (key: string): string | undefined => {
      if (rule.drop?.includes(key)) return undefined;
      return rule.keys !== undefined && Object.hasOwn(rule.keys, key) ? rule.keys[key] : key;
    };
    const tags: Record<string, string> = {};
    for (const [key, value] of Object.entries(point.tags)) {
      const name = rename(key);
      if (name !== undefined) define(tags, name, value);
    }
    const fields: Record<string, StoredField> = {};
    for (const [key, value] of Object.entries(point.fields)) {
      const name = rename(key);
      if (name !== undefined) define(fields, name, value);
    }
    // A point with no field left is no point: InfluxDB stores none.
    if (Object.keys(fields).length === 0) continue;
    out.push({ measurement: rule.table ?? point.measurement, tags, fields, timeNs: point.timeNs });
  }
  return out;
}

/** Fails unless `points` hold the values the test is about, so no seed can leave one out unnoticed. */
function expectHostileValues(points: readonly StoredPoint[], seed: number): void {
  const fields = points.flatMap((p) => Object.values(p.fields));
  const has = (what: string, test: (f: StoredField) => boolean): void => {
    expect(fields.some(test), `seed ${seed}: no ${what} among the points`).toBe(true);
  };
  has("whole float", (f) => f.type === "float" && f.value === 100);
  has("-0", (f) => f.type === "float" && Object.is(f.value, -0));
  has("largest float", (f) => f.type === "float" && f.value === 1.7976931348623157e308);
  has("int64 max", (f) => f.type === "integer" && f.value === 2n ** 63n - 1n);
  has("int64 min", (f) => f.type === "integer" && f.value === -(2n ** 63n));
  has("string with a newline", (f) => f.type === "string" && f.value.includes("\n"));
  has("string with a quote and a backslash", (f) => f.type === "string" && /\\.*"|".*\\/.test(f.value));
  has("true", (f) => f.type === "boolean" && f.value);
  has("false", (f) => f.type === "boolean" && !f.value);
  expect(
    points.some((p) => p.timeNs < 0n && p.timeNs % 1000n !== 0n),
    `seed ${seed}`,
  ).toBe(true);
}

let databases = 0;

describe("scheduled replication on real servers (InfluxDB 1.6.7 local, InfluxQL reader; 1.6.7 remote, v1)", () => {
  const url = inject("influxdb1Url");
  let log: string[] = [];
  let dir: string | undefined;
  let proxy: RemoteProxy | undefined;
  let replicator: Replicator | undefined;

  afterEach(async () => {
    await replicator?.close();
    replicator = undefined;
    await proxy?.close();
    proxy = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
    // The (dummy) tokens never reach a log line, at any level.
    const text = log.join("\n");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(LOCAL_TOKEN);
    log = [];
  });

  /** A fresh local database holding the seed's points, checked as stored; a fresh remote database. */
  async function prepare(
    seed: number,
    tables: readonly TableSpec[] = TABLES,
    layout: TimeLayout = LAYOUT,
  ): Promise<{ points: StoredPoint[]; localDb: string; remoteDb: string; queueDir: string }> {
    const n = ++databases;
    const localDb = `edr_real_${process.pid}_${n}_local`;
    const remoteDb = `edr_real_${process.pid}_${n}_remote`;
    await createInfluxDB1Database(url, localDb);
    await createInfluxDB1Database(url, remoteDb);
    const points = generatePoints(seed, tables, layout);
    expect(points).toHaveLength(tables.reduce((sum, t) => sum + t.count, 0));
    const spellings = new Random(seed ^ 0x5eed);
    const lines = points.map((p) => toLineProtocol(p, spellings));
    // Shuffled across tables and batches: the local instance gets them in no particular order.
    for (let i = lines.length - 1; i > 0; i--) {
      const j = spellings.int(i + 1);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    }
    for (let i = 0; i < lines.length; i += 5_000) {
      const answer = await writeInfluxDB1(url, localDb, lines.slice(i, i + 5_000).join("\n"));
      expect(answer, `seed ${seed}: ${answer.body}`).toEqual({ status: 204, body: "" });
    }
    // The generator's line protocol is read by 1.6.7 as meant: the local instance holds exactly `points`.
    const stored = await readInfluxDB1Points(url, localDb);
    expect(describeDifference(stored, points), `seed ${seed}: local database`).toBeUndefined();
    if (tables === TABLES) expectHostileValues(expectedAtRemote(points, COPIED_FROM, COPIED_TO), seed);
    dir = await mkdtemp(join(tmpdir(), "edr-real-servers-"));
    return { points, localDb, remoteDb, queueDir: dir };
  }

  async function open(
    remoteUrl: string,
    localDb: string,
    remoteDb: string,
    queueDir: string,
    transformArgs: Record<string, string> = TRANSFORM_ARGS,
  ) {
    const config = parseScheduledConfig(
      {
        host: remoteUrl,
        token: TOKEN,
        database: remoteDb,
        write_api: "v1",
        local_host: url,
        local_database: localDb,
        local_token: LOCAL_TOKEN,
        queue_dir: queueDir,
        window: "1h",
        max_retries: "1",
        batch_lines: "2000",
        timeout: "10s",
        ...transformArgs,
      },
      { env: {} },
    );
    replicator = await createReplicator(config, {
      localApi: "influxql",
      logger: {
        debug: (m) => log.push(`DEBUG ${m}`),
        info: (m) => log.push(`INFO ${m}`),
        warn: (m) => log.push(`WARN ${m}`),
        error: (m) => log.push(`ERROR ${m}`),
      },
    });
    return replicator;
  }

  /** The remote's points against the expectation: a short account of any difference first, then toEqual. */
  async function expectRemote(remoteDb: string, expected: readonly StoredPoint[], seed: number) {
    const actual = sortStoredPoints(await readInfluxDB1Points(url, remoteDb));
    expect(describeDifference(actual, expected), `seed ${seed}: remote database`).toBeUndefined();
    expect(actual).toEqual(sortStoredPoints(expected));
  }

  function expectNoDeadLetters(r: Replicator, queueDir: string): void {
    // The file is created when the replicator opens; it must stay empty.
    expect(statSync(join(queueDir, "edr_dead_letter_schedule.jsonl")).size).toBe(0);
    expect(existsSync(join(queueDir, "edr_dead_letter_schedule.1.jsonl"))).toBe(false);
    expect(r.status().deadLettersByStatus).toEqual({});
  }

  function expectCatchUpLogged(report: CallReport): void {
    for (const table of RULES.keys()) {
      expect(log).toContain(
        `INFO [${report.taskId}] Catching up ${table}: 4 chunks from 1969-12-31T23:00:00.000Z to 1970-01-01T03:00:00.000Z`,
      );
    }
  }

  it(
    `copies 100,000 points exactly, in windows and a catch-up (seed ${SEED})`,
    { timeout: 120_000 },
    async () => {
      const { points, localDb, remoteDb, queueDir } = await prepare(SEED);
      const expected = expectedAtRemote(points, COPIED_FROM, COPIED_TO);
      const first = expectedAtRemote(points, COPIED_FROM, -H).length;
      proxy = await startRemoteProxy(url);
      const r = await open(proxy.url, localDb, remoteDb, queueDir);

      const one = await r.processScheduledCall(CALL_1);
      expect(one.errors, `seed ${SEED}`).toEqual([]);
      expect(one).toMatchObject({
        queued: first,
        replicated: first,
        refused: 0,
        deadLettered: 0,
        queuedAfter: 0,
      });
      const two = await r.processScheduledCall(CALL_2);
      expect(two.errors, `seed ${SEED}`).toEqual([]);
      const rest = expected.length - first;
      expect(two).toMatchObject({
        queued: rest,
        replicated: rest,
        refused: 0,
        deadLettered: 0,
        queuedAfter: 0,
      });
      expectCatchUpLogged(two);
      expect(two.watermarks).toEqual(
        Object.fromEntries([...RULES.keys()].map((t) => [t, String(COPIED_TO)])),
      );

      await expectRemote(remoteDb, expected, SEED);
      const status = r.status();
      expect(status).toMatchObject({ state: "healthy", reconciled: true });
      expect(status.lines).toMatchObject({
        accepted: expected.length,
        delivered: expected.length,
        queued: 0,
        deadLettered: 0,
        refused: 0,
        dropped: 0,
      });
      expectNoDeadLetters(r, queueDir);
      expect(proxy.stats).toMatchObject({ cut: 0, outages: 0 });
    },
  );

  it(
    `delivers every point exactly after the remote stops mid-run and comes back (seed ${SEED + 1})`,
    { timeout: 120_000 },
    async () => {
      const seed = SEED + 1;
      const { points, localDb, remoteDb, queueDir } = await prepare(seed);
      const expected = expectedAtRemote(points, COPIED_FROM, COPIED_TO);
      const first = expectedAtRemote(points, COPIED_FROM, -H).length;
      proxy = await startRemoteProxy(url);
      const r = await open(proxy.url, localDb, remoteDb, queueDir);

      const one = await r.processScheduledCall(CALL_1);
      expect(one.errors, `seed ${seed}`).toEqual([]);
      expect(one).toMatchObject({ queued: first, replicated: first, queuedAfter: 0 });

      // The remote goes away once the third write of the catch-up has been stored, before its answer is
      // passed on; the writes in flight with it are cut. It stays down until the call has given up on the
      // lines left (max_retries=1), and for two seconds at least.
      let downSince = 0;
      const outage = proxy.downAfterWrites(3).then(() => {
        downSince = Date.now();
      });
      const two = await r.processScheduledCall(CALL_2);
      await outage;
      expect(proxy.isUp).toBe(false);
      expect(proxy.stats).toMatchObject({ outages: 1, storedButCut: 1 });
      expect(proxy.stats.openAtLastOutage).toBeGreaterThanOrEqual(1);
      expect(two.queued).toBe(expected.length - first);
      expect(two.queuedAfter, `seed ${seed}: the call should end with lines still queued`).toBeGreaterThan(0);
      expect(two.replicated).toBeLessThan(two.queued);
      expect(
        two.errors.some((e) => e.startsWith("not delivered yet: ")),
        two.errors.join("\n"),
      ).toBe(true);
      expect(two.deadLettered).toBe(0);
      expectCatchUpLogged(two);
      const during = r.status();
      expect(during).toMatchObject({ state: "degraded", reconciled: true });
      expect(during.lines.queued).toBe(two.queuedAfter);

      await sleep(Math.max(0, downSince + 2_000 - Date.now()));
      await proxy.up();
      const received = proxy.stats.received;
      // Drain until the queue is empty: a pass ends at once while the lines not delivered wait for their retry time.
      const deadline = Date.now() + 60_000;
      let remaining = Infinity;
      while (remaining > 0) {
        expect(Date.now(), `seed ${seed}: the queue did not drain`).toBeLessThan(deadline);
        const drained = await r.drain();
        expect(drained.deadLettered).toBe(0);
        remaining = drained.remaining;
        if (remaining > 0) await sleep(200);
      }
      expect(proxy.stats.received).toBeGreaterThan(received);

      await expectRemote(remoteDb, expected, seed);
      const status = r.status();
      expect(status).toMatchObject({ state: "healthy", reconciled: true });
      expect(status.lines).toMatchObject({
        accepted: expected.length,
        delivered: expected.length,
        queued: 0,
        deadLettered: 0,
        refused: 0,
        dropped: 0,
      });
      expectNoDeadLetters(r, queueDir);

      // Lines not delivered are sent again after a pause that doubles each round that fails (250 ms up to
      // 30 s), so sending starts again within about as long as the remote was away (plus a second of slack).
      const { upAt, firstAfterUpAt } = proxy.stats;
      expect(firstAfterUpAt, "no request after the remote came back").toBeDefined();
      expect(
        firstAfterUpAt! - upAt!,
        `seed ${seed}: ms from the remote's return to the first request sent to it`,
      ).toBeLessThanOrEqual(Math.max(1000, upAt! - downSince) + 1000);
    },
  );

  // A column named like a member of Object.prototype (`constructor`, `toString`, `valueOf`, `__proto__`, …)
  // that is NULL in a row is left out of the row object: it must read as NULL, not as the inherited member.
  it(`copies rows whose columns are named like Object.prototype members, NULL in some rows (seed ${SEED + 2})`, async () => {
    const seed = SEED + 2;
    const tables: TableSpec[] = [
      {
        name: "proto",
        count: 2_000,
        tags: [{ key: "toString", values: ["a", "b c"], presence: 0.5 }],
        fields: [
          { key: "constructor", type: "integer", presence: 0.5 },
          { key: "__proto__", type: "float", presence: 0.5 },
          { key: "valueOf", type: "string", presence: 0.5 },
          { key: "v", type: "boolean", presence: 0.5 },
        ],
      },
    ];
    const { points, localDb, remoteDb, queueDir } = await prepare(seed, tables, {
      startNs: COPIED_FROM,
      endNs: -H,
      edges: [],
    });
    const r = await open(url, localDb, remoteDb, queueDir, { tables: "proto" });
    const report = await r.processScheduledCall(CALL_1);
    await expectRemote(remoteDb, points, seed);
    expect(report).toMatchObject({ queued: points.length, refused: 0, errors: [] });
    expect(r.status().reconciled).toBe(true);
  });
});
