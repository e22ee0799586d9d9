// Bad input at every door of the `edr` command, run as a child process (edr listen in front of an edr-testkit
// server as the local instance, another as the remote): each is answered with a clear error (a status and a body
// that names the problem) or quarantined, the process keeps running (its /status answers and a good write goes
// through afterwards), and good data is kept where the API allows it.
//
// - A fuzzer sends thousands of random and near-valid lines (mutated valid lines: characters dropped and
//   doubled, escapes, quotes, newlines, numbers out of range, bad timestamps, unicode, NUL bytes, comments) in
//   v3 writes with accept_partial; the remote must end up with exactly the points the local instance stored.
// - v3 partial writes: the good lines are stored locally and replicated; accept_partial=false, v2 and v1: the
//   whole batch is refused and nothing is queued.
// - Bodies: over the 10 MiB limit (on the wire and after gunzip), gzip that is not gzip or is cut short,
//   unknown content encodings, bad precisions and database parameters, on each of the three write endpoints.
// - Bad trigger arguments of edr schedule and edr listen: exit 2, every problem named, the token never shown.
// - Garbage in the middle of a stopped edr's queue segment: quarantined with a clear log line, the rest
//   delivered. A cursor file of garbage: read again from the oldest entry (duplicates are harmless), nothing
//   lost. A watermark file of garbage (edr schedule): moved aside with a clear warning, copying goes on.
//
// Replay the fuzzer with its seed: EDR_BAD_INPUT_SEED=<seed> npx vitest run --project reliability test/reliability/bad-input.test.ts
import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { startInfluxDB3Server, type InfluxDB3TestServer, type StoredPoint } from "edr-testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runEdr } from "../../packages/edr-plugin/test/edr-child.js";
import {
  LISTEN_READY,
  SCHEDULE_READY,
  SCHEDULE_STATUS,
  fetchStatus,
  settledStatus,
  startEdrCommand,
  takenLines,
  type ReplicatorStatus,
  type StartedEdr,
} from "./helpers/edr-process.js";
import { FUZZ_PRECISIONS, fuzzBody, validLine } from "./helpers/fuzz-lines.js";
import { Rng, seedFrom } from "./helpers/seed.js";
import { diffStores, few, post, type Answer } from "./helpers/stores.js";
import { until } from "./helpers/wait.js";

const SEED = seedFrom("EDR_BAD_INPUT_SEED");
const REMOTE_TOKEN = "bad-input-remote-token-31337";
const LOCAL_TOKEN = "bad-input-local-token-27182";
const MAX_BODY = 10 * 1024 * 1024;
const LOCAL_AUTH = { authorization: `Bearer ${LOCAL_TOKEN}` };
const ENV = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };
const FUZZ_REQUESTS = 400;
/** The fuzzer's precisions on v2 and v1, and how each API spells them. */
const LEGACY_PRECISIONS = ["nanosecond", "microsecond", "millisecond", "second"] as const;
const LEGACY_SPELLING: Record<"v2" | "v1", Record<string, string>> = {
  v2: { nanosecond: "ns", microsecond: "us", millisecond: "ms", second: "s" },
  v1: { nanosecond: "n", microsecond: "u", millisecond: "ms", second: "s" },
};

let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let cleanups: (() => Promise<void>)[] = [];
const summary: string[] = [];

beforeAll(async () => {
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
});
afterAll(async () => {
  await Promise.all([local.close(), remote.close()]);
  console.log(`[bad-input] seed ${SEED} (replay with EDR_BAD_INPUT_SEED=${SEED})\n${summary.join("\n")}`);
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  local.reset();
  remote.reset();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edr-bad-input-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `edr listen` on a free port in front of `local`, replicating database `edge` to `remote`'s `central`. */
async function startListen(dir: string, extra: readonly string[] = []): Promise<StartedEdr> {
  const started = await startEdrCommand({
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
      [`host=${remote.url}`, "database=central", `queue_dir=${dir}`, "timeout=10s", ...extra].join(","),
    ],
    env: ENV,
    urlPattern: LISTEN_READY,
    readyTimeoutMs: 60_000,
  });
  cleanups.push(async () => void (await stop(started)));
  return started;
}

/** Stops an edr: SIGTERM, and SIGKILL if it has not exited 20 s later. Resolves with how it ended. */
async function stop(edr: StartedEdr): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const proc = edr.child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return edr.child.exited;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  try {
    return await edr.child.exited;
  } finally {
    clearTimeout(timer);
  }
}

function output(edr: StartedEdr): string {
  return `--- edr stderr ---\n${edr.child.stderr()}\n--- stdout ---\n${edr.child.stdout()}`;
}

/** A JS stack frame in the output: the product crashed or logged an error without saying what it means. */
function expectNoStackTrace(text: string): void {
  expect(text, "a stack trace in edr's output").not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
}

function expectNoTokens(text: string): void {
  expect(text).not.toContain(REMOTE_TOKEN);
  expect(text).not.toContain(LOCAL_TOKEN);
}

function v3(edr: StartedEdr, query = ""): string {
  return `${edr.url}/api/v3/write_lp?db=edge${query}`;
}

/**
 * The process still runs, /status answers, and a good write through `path` is stored locally and reaches
 * the remote. `n` makes the line unique.
 */
async function expectStillServing(
  edr: StartedEdr,
  n: number,
  path = "/api/v3/write_lp?db=edge",
): Promise<void> {
  expect(edr.child.process.exitCode, output(edr)).toBeNull();
  const before = await fetchStatus(edr.url);
  const line = `alive,probe=p${n} v=${n}i ${BigInt(Date.now()) * 1_000_000n + BigInt(n)}`;
  const answer = await post(
    `${edr.url}${path}${path.includes("?") ? "&" : "?"}precision=ns`,
    line,
    LOCAL_AUTH,
  );
  expect(answer.status, answer.text).toBe(204);
  await until(
    `the good write p${n} replicated`,
    () => remote.points("central", "alive").some((p) => p.tags["probe"] === `p${n}`),
    30_000,
    async () => `${JSON.stringify(await fetchStatus(edr.url))}\n${output(edr)}`,
  );
  const after = await fetchStatus(edr.url);
  expect(takenLines(after)).toBe(takenLines(before) + 1);
}

/** Waits until everything accepted was delivered (the queue empty) and returns the status. */
async function drained(edr: StartedEdr, timeoutMs = 60_000): Promise<ReplicatorStatus> {
  let status: ReplicatorStatus | undefined;
  await until(
    "the queue drained",
    async () => {
      status = await fetchStatus(edr.url);
      return status.queue.entries === 0 && status.lines.queued === 0 && status.intake?.entries === 0;
    },
    timeoutMs,
    () => `${JSON.stringify(status)}\n${output(edr)}`,
  );
  return status!;
}

function userPoints(server: InfluxDB3TestServer, db: string): StoredPoint[] {
  return server.points(db);
}

describe(`bad input through edr listen (seed ${SEED})`, () => {
  it(
    "fuzzed lines: the remote holds exactly the points the local instance stored",
    { timeout: 170_000 },
    async () => {
      const dir = await tempDir();
      const edr = await startListen(dir);
      const rng = new Rng(SEED, 1);
      const statuses: Record<string, number> = {};
      let lines = 0;
      let acceptedBefore = 0;
      for (let r = 0; r < FUZZ_REQUESTS; r++) {
        // Mostly v3 with accept_partial; some v2 and v1, which refuse a batch with one bad line whole.
        const api = rng.pick(["v3", "v3", "v3", "v2", "v1"] as const);
        const precision = api === "v3" ? rng.pick(FUZZ_PRECISIONS) : rng.pick(LEGACY_PRECISIONS);
        const count = rng.between(20, 80);
        const share = api === "v3" ? rng.pick([0, 0.01, 0.05, 0.2, 0.5, 0.9]) : rng.pick([0, 0, 0.01, 0.05]);
        const body = fuzzBody(rng, precision, Date.now(), count, share);
        lines += count;
        const spelled = api === "v3" ? precision : LEGACY_SPELLING[api][precision]!;
        const given = precision === "auto" || precision === "nanosecond" ? rng.chance(0.5) : true;
        const url =
          api === "v3"
            ? `${edr.url}/api/v3/write_lp?db=edge${given ? `&precision=${spelled}` : ""}`
            : `${edr.url}${api === "v2" ? "/api/v2/write?bucket=edge" : "/write?db=edge"}${given ? `&precision=${spelled}` : ""}`;
        const gzip = rng.chance(0.15);
        const answer = await post(
          url,
          gzip ? gzipSync(body) : body,
          gzip ? { ...LOCAL_AUTH, "content-encoding": "gzip" } : LOCAL_AUTH,
        );
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        const where = `request ${r} (${api}, precision ${spelled}${gzip ? ", gzip" : ""}): ${JSON.stringify(body.slice(0, 400))}`;
        // The local instance's own answers: stored, or a partial write naming the bad lines. Never a 5xx.
        expect([204, 400, 422], `${where}: ${answer.status} ${answer.text}\n${output(edr)}`).toContain(
          answer.status,
        );
        if (answer.status !== 204 && api === "v2") {
          const error = JSON.parse(answer.text) as { code: string; message: string };
          expect(error, `${where}: ${answer.text}`).toMatchObject({ code: "invalid" });
          expect(error.message, `${where}: ${answer.text}`).toMatch(/line protocol parsing error: line \d+/);
        } else if (answer.status !== 204) {
          const error = JSON.parse(answer.text) as { error: string; data: unknown };
          expect(error.error, `${where}: ${answer.text}`).toMatch(/line protocol|partial write/);
          expect(error.data, where).toBeDefined();
        }
        if (answer.status !== 204 && api !== "v3") {
          // Refused whole: nothing of it queued.
          const accepted = takenLines(await fetchStatus(edr.url));
          expect(accepted, `${where}: lines of a refused ${api} batch queued`).toBe(acceptedBefore);
        }
        acceptedBefore = takenLines(await fetchStatus(edr.url));
      }
      // Bodies that are not UTF-8: refused whole by edr (it would have to re-encode them), nothing stored.
      for (let r = 0; r < 5; r++) {
        const good = validLine(rng, "nanosecond", Date.now());
        const body = Buffer.concat([
          Buffer.from(`${good}\n`),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from(`\n${good}`),
        ]);
        const answer = await post(v3(edr, "&precision=nanosecond"), body, LOCAL_AUTH);
        expect(answer.status).toBe(400);
        expect(answer.text).toMatch(/not valid UTF-8/);
      }

      const status = await drained(edr, 90_000);
      const localPoints = userPoints(local, "edge");
      const remotePoints = userPoints(remote, "central");
      const diff = diffStores(localPoints, remotePoints);
      summary.push(
        `[bad-input fuzz] ${FUZZ_REQUESTS} requests, ${lines} lines, answers ${JSON.stringify(statuses)}; ` +
          `local stored ${localPoints.length} points, edr accepted ${status.lines.accepted} lines, remote holds ${remotePoints.length}`,
      );
      expect(diff.missing, `stored locally, not on the remote: ${few(diff.missing)}`).toEqual([]);
      expect(diff.unexpected, `on the remote, not stored locally: ${few(diff.unexpected)}`).toEqual([]);
      expect(diff.different, `other values on the remote: ${few(diff.different)}`).toEqual([]);
      // The fuzzer found both kinds of line.
      expect(statuses["204"] ?? 0).toBeGreaterThan(0);
      expect((statuses["400"] ?? 0) + (statuses["422"] ?? 0)).toBeGreaterThan(FUZZ_REQUESTS / 4);
      expect(localPoints.length).toBeGreaterThan(lines / 4);
      expect(status.lines.deadLettered, JSON.stringify(status)).toBe(0);
      expect(status.lines.refused, JSON.stringify(status)).toBe(0);
      await expectStillServing(edr, 1);
      expectNoStackTrace(edr.child.stderr());
      expectNoTokens(edr.child.stderr() + edr.child.stdout());
    },
  );

  it("partial writes: v3 keeps and replicates the good lines; accept_partial=false, v2 and v1 refuse the batch", async () => {
    const dir = await tempDir();
    const edr = await startListen(dir);
    const t = BigInt(Date.now()) * 1_000_000n;
    const body = [
      `part,k=a v=1i ${t}`,
      `part,k=b v=oops ${t}`,
      `part,k=c v=3i ${t}`,
      `part,k=d v=4i 12x`,
      `part,k=e v=5i ${t}`,
    ].join("\n");

    // v3 with accept_partial (the default): 400 naming lines 2 and 4, the other three stored and replicated.
    const partial = await post(v3(edr, "&precision=ns"), body, LOCAL_AUTH);
    expect(partial.status).toBe(400);
    const parsed = JSON.parse(partial.text) as { error: string; data: { line_number: number }[] };
    expect(parsed.error).toBe("partial write of line protocol occurred");
    expect(parsed.data.map((d) => d.line_number)).toEqual([2, 4]);
    const stored = () => local.points("edge", "part").map((p) => p.tags["k"]);
    expect(stored()).toEqual(["a", "c", "e"]);
    await until(
      "the good lines of the partial write replicated",
      () => remote.points("central", "part").length === 3,
      30_000,
      () => output(edr),
    );
    expect(diffStores(local.points("edge", "part"), remote.points("central", "part")).same).toBe(3);
    const acceptedAfterPartial = takenLines(await fetchStatus(edr.url));
    expect(acceptedAfterPartial).toBe(3);

    // The same body refused whole: nothing stored locally, nothing queued.
    const whole = body.replace(/k=([a-e])/g, "k=$1$1");
    const refusals: [string, string, RegExp][] = [
      [
        "v3 accept_partial=false",
        "/api/v3/write_lp?db=edge&precision=ns&accept_partial=false",
        /"error":"line protocol parsing error"/,
      ],
      [
        "v2",
        "/api/v2/write?bucket=edge&precision=ns",
        /"code":"invalid","message":"line protocol parsing error: line 2/,
      ],
      ["v1", "/write?db=edge&precision=ns", /"error":"line protocol parsing error"/],
    ];
    for (const [name, path, message] of refusals) {
      const answer = await post(`${edr.url}${path}`, whole, LOCAL_AUTH);
      expect(answer.status, `${name}: ${answer.text}`).toBe(400);
      expect(answer.text, name).toMatch(message);
      expect(stored(), name).toEqual(["a", "c", "e"]);
      const status = await fetchStatus(edr.url);
      expect(takenLines(status), name).toBe(acceptedAfterPartial);
      expect(status.queue.entries + (status.intake?.entries ?? 0), name).toBe(0);
    }
    await expectStillServing(edr, 2, "/api/v2/write?bucket=edge");
    await expectStillServing(edr, 3, "/write?db=edge");
    expect(remote.points("central", "part")).toHaveLength(3);
    expectNoStackTrace(edr.child.stderr());
  });

  it(
    "bodies over the limit, broken gzip, unknown encodings, bad precisions and databases, on every endpoint",
    { timeout: 120_000 },
    async () => {
      const dir = await tempDir();
      const edr = await startListen(dir);
      const t = BigInt(Date.now()) * 1_000_000n;
      const good = `door,k=a v=1i ${t}`;
      const oversized = Buffer.alloc(MAX_BODY + 1, "door,k=a v=1i 1\n");
      // 11 MiB of lines in 20 KiB of gzip: over the limit only once inflated.
      const bomb = gzipSync(Buffer.alloc(MAX_BODY + 1024 * 1024, `door,k=a v=1i ${t}\n`));
      const gz = gzipSync(Buffer.from(`${good}\n${good}`));
      const endpoints = [
        { api: "v3", path: "/api/v3/write_lp", db: "db", precisions: ["nanoseconds", "n", "hour", "1"] },
        { api: "v2", path: "/api/v2/write", db: "bucket", precisions: ["nanosecond", "n", "u", "h"] },
        { api: "v1", path: "/write", db: "db", precisions: ["nanosecond", "us", "d", "hour"] },
      ] as const;
      const cases: {
        name: string;
        status: number;
        message: RegExp;
        call: (e: (typeof endpoints)[number]) => Promise<Answer>;
      }[] = [
        {
          name: "a body over 10 MiB",
          status: 413,
          message: /max request size \(10485760 bytes\) exceeded/,
          call: (e) => post(`${edr.url}${e.path}?${e.db}=edge`, oversized, LOCAL_AUTH),
        },
        {
          name: "a gzip body over 10 MiB once inflated",
          status: 413,
          message: /max request size \(10485760 bytes\) exceeded/,
          call: (e) =>
            post(`${edr.url}${e.path}?${e.db}=edge`, bomb, { ...LOCAL_AUTH, "content-encoding": "gzip" }),
        },
        {
          name: "Content-Encoding: gzip on a plain body",
          status: 400,
          message: /error decoding gzip body/,
          call: (e) =>
            post(`${edr.url}${e.path}?${e.db}=edge`, good, { ...LOCAL_AUTH, "content-encoding": "gzip" }),
        },
        {
          name: "a gzip body cut short",
          status: 400,
          message: /error decoding gzip body/,
          call: (e) =>
            post(`${edr.url}${e.path}?${e.db}=edge`, gz.subarray(0, gz.length - 9), {
              ...LOCAL_AUTH,
              "content-encoding": "gzip",
            }),
        },
        {
          name: "a gzip body with garbage after it",
          status: 400,
          message: /error decoding gzip body/,
          call: (e) =>
            post(`${edr.url}${e.path}?${e.db}=edge`, Buffer.concat([gz, Buffer.from("garbage")]), {
              ...LOCAL_AUTH,
              "content-encoding": "gzip",
            }),
        },
        ...["br", "compress", "deflate", "gzip, br", "x-unknown"].map((encoding) => ({
          name: `Content-Encoding: ${encoding}`,
          status: 415,
          message: new RegExp(`unsupported content encoding \\\\?"${encoding}\\\\?"`),
          call: (e: (typeof endpoints)[number]) =>
            post(`${edr.url}${e.path}?${e.db}=edge`, good, { ...LOCAL_AUTH, "content-encoding": encoding }),
        })),
        {
          name: "no database parameter",
          status: 400,
          message: /missing the \\?"(db|bucket)\\?" query parameter/,
          call: (e) => post(`${edr.url}${e.path}?precision=ns`, good, LOCAL_AUTH),
        },
        {
          name: "an empty database parameter",
          status: 400,
          message: /missing the \\?"(db|bucket)\\?" query parameter/,
          call: (e) => post(`${edr.url}${e.path}?${e.db}=&precision=ns`, good, LOCAL_AUTH),
        },
      ];
      let checked = 0;
      for (const e of endpoints) {
        for (const c of cases) {
          const answer = await c.call(e);
          const where = `${e.api} ${c.name}: ${answer.status} ${answer.text.slice(0, 300)}`;
          expect(answer.status, where).toBe(c.status);
          expect(answer.text, where).toMatch(c.message);
          if (e.api === "v2") expect(() => JSON.parse(answer.text) as unknown, where).not.toThrow();
          checked++;
        }
        for (const precision of e.precisions) {
          const answer = await post(
            `${edr.url}${e.path}?${e.db}=edge&precision=${precision}`,
            good,
            LOCAL_AUTH,
          );
          const where = `${e.api} precision ${precision}: ${answer.status} ${answer.text}`;
          expect(answer.status, where).toBe(400);
          expect(answer.text, where).toMatch(
            new RegExp(`invalid precision \\\\"${precision}\\\\": expected one of`),
          );
          checked++;
        }
        // A database name that is not the replicated one passes through untouched and is not replicated.
        const other = await post(`${edr.url}${e.path}?${e.db}=edge2&precision=ns`, good, LOCAL_AUTH);
        expect(other.status, other.text).toBe(204);
        expect(local.points("edge2")).toHaveLength(1);
        // None of it reached the local instance's replicated database or the queue.
        expect(local.points("edge"), e.api).toEqual([]);
        const status = await fetchStatus(edr.url);
        expect(takenLines(status), e.api).toBe(0);
        expect(status.queue.entries + (status.intake?.entries ?? 0), e.api).toBe(0);
      }
      summary.push(
        `[bad-input doors] ${checked} bad requests answered with a clear error on the three endpoints`,
      );
      await expectStillServing(edr, 4);
      await expectStillServing(edr, 5, "/api/v2/write?bucket=edge");
      await expectStillServing(edr, 6, "/write?db=edge");
      expect(remote.points("central").map((p) => p.measurement)).toEqual(["alive", "alive", "alive"]);
      expectNoStackTrace(edr.child.stderr());
    },
  );
});

describe("bad trigger arguments", () => {
  it("edr schedule: exit 2, every problem named, the token never shown", async () => {
    const result = await runEdr(
      [
        "schedule",
        "--trigger-spec",
        "every:0s",
        "--local-api",
        "flux",
        "--local-url",
        "ftp://127.0.0.1:1",
        "--trigger-arguments",
        `host=not a url,token=${REMOTE_TOKEN},database=,window=10x,offset=-5s,max_size=-1,tabels=cpu,batch_lines=0,max_in_flight=many`,
        "--bogus",
      ],
      ENV,
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe("");
    for (const problem of [
      /--bogus: unknown option/,
      /--trigger-spec/,
      /--local-api: expected sql or influxql/,
      /host/,
      /database/,
      /window/,
      /max_size/,
      /tabels/,
      /batch_lines/,
      /max_in_flight/,
      /local_host|--local-url/,
    ])
      expect(result.stderr, String(problem)).toMatch(problem);
    expectNoTokens(result.stderr);
    expectNoStackTrace(result.stderr);
  });

  it("edr listen: exit 2, every problem named, the token never shown", async () => {
    const result = await runEdr(
      [
        "listen",
        "--listen",
        "127.0.0.1:99999",
        "--flush-interval",
        "soon",
        "--trigger-arguments",
        `host=,token=${REMOTE_TOKEN},local_token=${LOCAL_TOKEN},database=central,aggregate_interval=7x,write_api=v9,timeout=0`,
        "extra-word",
      ],
      ENV,
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe("");
    for (const problem of [
      /--listen/,
      /--flush-interval: expected/,
      /host/,
      /aggregate_interval/,
      /write_api/,
      /timeout/,
      /--local-db: required/,
      /unexpected argument "extra-word"/,
    ])
      expect(result.stderr, String(problem)).toMatch(problem);
    expectNoTokens(result.stderr);
    expectNoStackTrace(result.stderr);

    const missing = await runEdr(["listen"], ENV);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--trigger-arguments: required/);
  });
});

/** Writes `count` requests of `perWrite` lines (`seq,k=<n> n=<n>i <t>`), each answered 204; returns the n's. */
async function writeNumbered(
  edr: StartedEdr,
  from: number,
  count: number,
  perWrite: number,
): Promise<number[]> {
  const written: number[] = [];
  const t0 = BigInt(Date.now()) * 1_000_000n;
  for (let w = 0; w < count; w++) {
    const lines: string[] = [];
    for (let i = 0; i < perWrite; i++) {
      const n = from + w * perWrite + i;
      lines.push(`seq,k=${n % 7} n=${n}i,pad="${randomBytes(24).toString("hex")}" ${t0 + BigInt(n)}`);
      written.push(n);
    }
    const answer = await post(v3(edr, "&precision=ns"), lines.join("\n"), LOCAL_AUTH);
    expect(answer.status, answer.text).toBe(204);
  }
  return written;
}

function remoteNumbers(): Set<number> {
  return new Set(
    remote.points("central", "seq").map((p) => Number((p.fields["n"] as { value: bigint }).value)),
  );
}

/** The gzip members of a queue file: their offsets, found by inflating each candidate header up to the next. */
function gzipMembers(file: Buffer): { offset: number; end: number; text: string }[] {
  const candidates: number[] = [];
  for (
    let i = file.indexOf(Buffer.from([0x1f, 0x8b, 0x08]));
    i >= 0;
    i = file.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), i + 1)
  )
    candidates.push(i);
  const members: { offset: number; end: number; text: string }[] = [];
  let at = 0;
  while (at < file.length) {
    const next = candidates.find(
      (c) =>
        c > at &&
        (() => {
          try {
            gunzipSync(file.subarray(at, c));
            return true;
          } catch {
            return false;
          }
        })(),
    );
    const end = next ?? file.length;
    members.push({ offset: at, end, text: gunzipSync(file.subarray(at, end)).toString("utf8") });
    at = end;
  }
  return members;
}

describe("damaged files of a stopped edr", () => {
  it(
    "garbage in the middle of a queue segment: quarantined with a clear log line, the rest delivered",
    { timeout: 150_000 },
    async () => {
      const dir = await tempDir();
      remote.faults.failAll({ status: 503, retryAfter: 1 });
      const first = await startListen(dir);
      const written = await writeNumbered(first, 0, 9, 40);
      expect((await settledStatus(first.url)).queue.entries).toBe(written.length);
      expect((await stop(first)).code, output(first)).toBe(0);

      const head = join(dir, "edr_queue_writes.jsonl.gz");
      const bytes = await readFile(head);
      const members = gzipMembers(bytes);
      expect(members.length, "one member per write").toBe(9);
      const victim = members[4]!;
      const lost = new Set([...victim.text.matchAll(/n=(\d+)i/g)].map((m) => Number(m[1])));
      expect(lost.size).toBe(40);
      // Garbage in the middle of the member's compressed data: its header stays sound.
      const garbage = Buffer.alloc(32, 0xa5);
      const fh = await open(head, "r+");
      await fh.write(
        garbage,
        0,
        garbage.length,
        victim.offset + Math.floor((victim.end - victim.offset) / 2),
      );
      await fh.close();

      remote.faults.clear();
      const second = await startListen(dir);
      await until(
        "the other members delivered",
        () => remoteNumbers().size === written.length - lost.size,
        60_000,
        async () => `${remoteNumbers().size} of ${written.length - lost.size}\n${output(second)}`,
      );
      await second.child.waitFor(
        /quarantined \d+ bytes of .*edr_queue_writes\.jsonl\.gz at offset \d+ .* into .*edr_queue_writes\.quarantine/,
        30_000,
      );
      const onRemote = remoteNumbers();
      expect(
        written.filter((n) => !lost.has(n) && !onRemote.has(n)),
        "good lines lost",
      ).toEqual([]);
      expect(
        [...onRemote].filter((n) => lost.has(n)),
        "lines of the damaged member",
      ).toEqual([]);
      const status = await drained(second);
      expect(status.lines.deadLettered).toBe(0);
      const files = await readdir(dir);
      expect(files).toContain("edr_queue_writes.quarantine");
      // queue inspect reports it too, while edr runs.
      const inspect = await runEdr(["queue", "inspect", "--queue-dir", dir]);
      expect(inspect.code, inspect.stderr).toBe(0);
      expect(inspect.stdout).toMatch(/quarantin/i);
      await expectStillServing(second, 7);
      expectNoStackTrace(second.child.stderr());
      summary.push(
        `[bad-input queue] a damaged member of 40 lines quarantined, ${onRemote.size} lines delivered`,
      );
    },
  );

  it(
    "a cursor file of garbage: read again from the oldest entry, nothing lost",
    { timeout: 150_000 },
    async () => {
      const dir = await tempDir();
      const first = await startListen(dir);
      const delivered = await writeNumbered(first, 0, 5, 30);
      await drained(first);
      remote.faults.failAll({ status: 503, retryAfter: 1 });
      const queued = await writeNumbered(first, 1000, 5, 30);
      expect((await settledStatus(first.url)).queue.entries).toBe(queued.length);
      expect((await stop(first)).code, output(first)).toBe(0);

      await writeFile(join(dir, "edr_queue_writes.cursor"), randomBytes(512));
      remote.faults.clear();
      const second = await startListen(dir);
      await second.child.waitFor(/cursor file .*edr_queue_writes\.cursor is unreadable/, 30_000);
      await drained(second);
      const onRemote = remoteNumbers();
      expect(
        [...delivered, ...queued].filter((n) => !onRemote.has(n)),
        "lines lost",
      ).toEqual([]);
      const diff = diffStores(local.points("edge"), remote.points("central"));
      expect(diff.missing).toEqual([]);
      expect(diff.unexpected).toEqual([]);
      expect(diff.different).toEqual([]);
      await expectStillServing(second, 8);
      expectNoStackTrace(second.child.stderr());
    },
  );

  it(
    "a watermark file of garbage (edr schedule): moved aside with a clear warning, copying goes on",
    { timeout: 150_000 },
    async () => {
      const dir = await tempDir();
      const created = await post(`${local.url}/api/v3/configure/database`, JSON.stringify({ db: "edge" }), {
        ...LOCAL_AUTH,
        "content-type": "application/json",
      });
      expect(created.status).toBe(200);
      const schedule = (): Promise<StartedEdr> =>
        startEdrCommand({
          args: [
            "schedule",
            "--trigger-spec",
            "every:1s",
            "--status-address",
            "127.0.0.1:0",
            "--local-url",
            local.url,
            "--local-db",
            "edge",
            "--trigger-arguments",
            [
              `host=${remote.url}`,
              "database=central",
              `queue_dir=${dir}`,
              "tables=sched",
              "window=1s",
              "offset=2s",
            ].join(","),
          ],
          env: ENV,
          urlPattern: SCHEDULE_STATUS,
          readyPattern: SCHEDULE_READY,
          readyTimeoutMs: 60_000,
        }).then((started) => {
          cleanups.push(async () => void (await stop(started)));
          return started;
        });
      let n = 0;
      const writeLocal = async (): Promise<void> => {
        const t = BigInt(Date.now()) * 1_000_000n;
        const answer = await post(
          `${local.url}/api/v3/write_lp?db=edge&precision=ns`,
          `sched,k=a n=${n++}i ${t}`,
          LOCAL_AUTH,
        );
        expect(answer.status).toBe(204);
      };
      const first = await schedule();
      await until(
        "a watermark",
        async () => (await fetchStatus(first.url)).watermarks["sched"] !== undefined,
        30_000,
        () => output(first),
      );
      for (let i = 0; i < 5; i++) {
        await writeLocal();
        await new Promise((r) => setTimeout(r, 200));
      }
      const before = n;
      await until(
        "the first points copied",
        () => remote.points("central", "sched").length === before,
        30_000,
        () => output(first),
      );
      expect((await stop(first)).code, output(first)).toBe(0);

      const path = join(dir, "edr_watermarks_schedule.json");
      expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ version: 1 });
      const garbage = `{"version":1,"tables":{"sched":"12\u0000${randomBytes(16).toString("hex")}`;
      await writeFile(path, garbage);

      const second = await schedule();
      await second.child.waitFor(
        /the watermark file .*edr_watermarks_schedule\.json is corrupt \(.+\); moved it aside to .*\.corrupt-\d+/,
        30_000,
      );
      const aside = (await readdir(dir)).filter((f) => f.startsWith("edr_watermarks_schedule.json.corrupt-"));
      expect(aside).toHaveLength(1);
      // The garbage is kept for whoever wants to look at it.
      expect(await readFile(join(dir, aside[0]!), "utf8")).toBe(garbage);
      for (let i = 0; i < 5; i++) {
        await writeLocal();
        await new Promise((r) => setTimeout(r, 200));
      }
      await until(
        "the points written after the restart copied",
        () => remote.points("central", "sched").length === n,
        30_000,
        () => `${remote.points("central", "sched").length} of ${n}\n${output(second)}`,
      );
      const diff = diffStores(local.points("edge", "sched"), remote.points("central", "sched"));
      expect(diff.missing).toEqual([]);
      expect(diff.unexpected).toEqual([]);
      // A new watermark file, valid again.
      await until(
        "a new watermark file",
        async () => (await readFile(path, "utf8").catch(() => "")).startsWith("{"),
        10_000,
      );
      expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ version: 1 });
      expect((await fetchStatus(second.url)).state).toBe("healthy");
      expectNoStackTrace(second.child.stderr());
    },
  );
});
