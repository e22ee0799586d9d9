// Security: the `edr` command in child processes, against edr-testkit servers standing in for the local and the
// remote InfluxDB 3 and a remote that refuses writes while echoing the Authorization header it was sent.
//
// - The tokens never appear in anything edr prints or serves or writes: every byte of stdout and stderr of
//   `edr schedule` (halted by a 401 then a 403, dead letters from a 400, a local instance refusing its reads),
//   `edr listen` (writes refused by the local instance, one that echoes the client's token), `edr status`,
//   `edr queue inspect`, `edr dead-letter list`, bad arguments and `--help`; every `/status` and `/metrics`
//   body; every file under the queue directory (gzip inflated). Searched as is, after `Token `/`Bearer `, in
//   base64 at every alignment and URL-encoded. The remote token comes in `token=` of the trigger arguments for
//   one command and in EDR_REMOTE_TOKEN for the others; the local one in EDR_LOCAL_TOKEN or `--local-token`.
// - Every file under the queue directory is mode 0600 and every directory 0700, after runs that left dead
//   letters, watermarks, an intake, downsampling state, late letters and a quarantine (of a head file written
//   0644 before edr first opened it), while edr runs and after it stopped.
// - The write-through endpoint queues only what the local instance stored (nothing of a write it answered
//   400, 401 or 500; of a partial write only the stored lines), passes writes to another database to the local
//   instance unchanged and queues nothing of them, and passes queries and other paths through untouched; the
//   remote ends holding exactly what the local instance holds in the replicated database.
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { sortStoredPoints, startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runEdr } from "../../packages/edr-plugin/test/edr-child.js";
import {
  LISTEN_READY,
  SCHEDULE_READY,
  SCHEDULE_STATUS,
  settledStatus,
  startEdrCommand,
  takenLines,
  type ReplicatorStatus,
  type StartedEdr,
} from "./helpers/edr-process.js";
import { fileTexts, findSecrets, walk } from "./helpers/secrets.js";
import { until } from "./helpers/wait.js";

// Distinctive, and different from every other test's, so a hit can only come from here.
const REMOTE_TOKEN = "rmt-SECRET-8f3b1c9e-remote-token-Q7";
const LOCAL_TOKEN = "lcl-SECRET-2d7a4e61-local-token-K4";
const TOKENS = [REMOTE_TOKEN, LOCAL_TOKEN];
const NS = 1_000_000n;

/** Everything edr printed or served in this test, with where it came from. */
let seen: { where: string; text: string }[] = [];
/** The long-running commands of this test: their output is searched too, up to the moment of the search. */
let children: { name: string; edr: StartedEdr }[] = [];
/** When this test started, for the phase times it logs. */
let testStartMs = 0;
let cleanups: (() => Promise<void>)[] = [];
let root: string;
/** The queue directory every command shares; edr creates it (and its parent) on the first run. */
let queueDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "edr-security-"));
  queueDir = join(root, "edr", "queue");
});
beforeEach(() => {
  seen = [];
  children = [];
  testStartMs = Date.now();
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** Logs how long the test has run when it reaches a phase (the file's time budget is ~3 minutes). */
function phase(what: string): void {
  console.log(`[security] ${((Date.now() - testStartMs) / 1000).toFixed(1)} s: ${what}`);
}
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function record(where: string, text: string): void {
  seen.push({ where, text });
}

/** Fails naming every place a token was found in. */
function expectNoSecrets(): void {
  const outputs = children.flatMap(({ name, edr }) => [
    { where: `${name} stdout`, text: edr.child.stdout() },
    { where: `${name} stderr`, text: edr.child.stderr() },
  ]);
  const found = [...seen, ...outputs].flatMap(({ where, text }) => findSecrets(where, text, TOKENS));
  expect(found, `a token showed up in ${found.length} places`).toEqual([]);
}

/** Starts an `edr` whose output is recorded when the test ends (and stopped then if still running). */
async function start(name: string, command: Parameters<typeof startEdrCommand>[0]): Promise<StartedEdr> {
  const started = await startEdrCommand(command);
  children.push({ name, edr: started });
  cleanups.push(async () => {
    const { process: child } = started.child;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await started.child.exited;
  });
  return started;
}

/** SIGTERM: the command finishes what it does and exits 0. */
async function stop(name: string, edr: StartedEdr): Promise<void> {
  edr.child.process.kill("SIGTERM");
  const ended = await edr.child.exited;
  expect(ended, `${name} on SIGTERM:\n${edr.child.stderr()}`).toEqual({ code: 0, signal: null });
}

/** Runs a one-shot `edr` command to its end, recording its output. */
async function run(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await runEdr(args, env);
  record(`edr ${args.join(" ")} stdout`, result.stdout);
  record(`edr ${args.join(" ")} stderr`, result.stderr);
  return result;
}

/** `/status` and `/metrics` of a running edr, recorded; the status parsed. */
async function observe(name: string, url: string): Promise<ReplicatorStatus> {
  const status = await fetch(`${url}/status`);
  const statusText = await status.text();
  expect(status.status).toBe(200);
  record(`${name} /status`, statusText);
  const metrics = await fetch(`${url}/metrics`);
  record(`${name} /metrics`, await metrics.text());
  expect(metrics.status).toBe(200);
  return JSON.parse(statusText) as ReplicatorStatus;
}

/** The output of every command run so far, for a failure's message. */
function outputOf(edr: StartedEdr): string {
  return `--- stderr ---\n${edr.child.stderr()}\n--- stdout ---\n${edr.child.stdout()}`;
}

/** Checks every file under the queue directory: mode 0600 (directories 0700), and no token inside. */
async function checkQueueDir(where: string, expectedNames: readonly string[]): Promise<string[]> {
  const entries = await walk(join(root, "edr"));
  const wrong = entries.filter((e) => e.mode !== (e.kind === "dir" ? 0o700 : 0o600));
  expect(
    wrong.map((e) => `${e.path}: ${e.mode.toString(8)}`),
    `${where}: files not 0600 / dirs not 0700`,
  ).toEqual([]);
  const names = entries.filter((e) => e.kind === "file").map((e) => e.path.slice(queueDir.length + 1));
  expect(names, where).toEqual(expect.arrayContaining([...expectedNames]));
  for (const entry of entries.filter((e) => e.kind === "file"))
    for (const text of await fileTexts(entry.path)) record(`${where}: file ${entry.path}`, text);
  return names;
}

/** The local instance: an edr-testkit server with a database that exists before edr reads it. */
async function startLocal(): Promise<InfluxDB3TestServer> {
  const server = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  cleanups.push(() => server.close());
  const created = await fetch(`${server.url}/api/v3/configure/database`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ db: "edge" }),
  });
  expect(created.status).toBe(200);
  return server;
}

type EchoMode = "401" | "403" | "400" | "ok";

/**
 * A remote that refuses writes (401, 403 or 400) with a body that repeats the Authorization header it was
 * sent, as a careless proxy or server might, or stores them (204).
 */
async function startEchoRemote(): Promise<{
  url: string;
  mode: EchoMode;
  authorizations: Set<string>;
  stored: string[];
}> {
  const state = {
    url: "",
    mode: "401" as EchoMode,
    authorizations: new Set<string>(),
    stored: [] as string[],
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const auth = String(req.headers.authorization ?? "");
      state.authorizations.add(auth);
      const mode = state.mode;
      if (mode === "ok") {
        const raw = Buffer.concat(chunks);
        const gzipped = /gzip/i.test(String(req.headers["content-encoding"] ?? ""));
        state.stored.push((gzipped ? gunzipSync(raw) : raw).toString("utf8"));
        res.writeHead(204).end();
        return;
      }
      const marker = `remote-${mode}-marker`;
      const error = `${marker}: refused, you sent Authorization: ${auth} (${Buffer.from(auth).toString("base64")})`;
      res.writeHead(Number(mode), { "content-type": "application/json", "x-echo-authorization": auth });
      res.end(JSON.stringify({ error, data: null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return state;
}

describe("security: tokens, file modes, the write-through endpoint", () => {
  it("edr schedule halted by a 401 and a 403, dead-lettering a 400, its local instance refusing: no token anywhere", async () => {
    const local = await startLocal();
    const remote = await startEchoRemote();
    // A point a little in the past every 100 ms, so every 1 s window has lines to copy.
    let written = 0;
    const writer = setInterval(() => {
      const ns = BigInt(Date.now() - 200) * NS;
      void fetch(`${local.url}/api/v3/write_lp?db=edge&precision=nanosecond`, {
        method: "POST",
        headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
        body: `cpu,host=a v=${++written} ${ns}`,
      }).catch(() => {});
    }, 100);
    cleanups.push(async () => clearInterval(writer));

    // The remote token in the trigger arguments (as the Python plugin took it) for the first process, in
    // EDR_REMOTE_TOKEN for the others; the local one in EDR_LOCAL_TOKEN, then in --local-token.
    const common = `host=${remote.url},database=central,queue_dir=${queueDir},window=1s,timeout=5s`;
    const args = `${common},token=${REMOTE_TOKEN}`;
    const schedule = (name: string, triggerArguments: string, env: Record<string, string>, extra: string[]) =>
      start(name, {
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
          triggerArguments,
          "--verbose",
          ...extra,
        ],
        env,
        urlPattern: SCHEDULE_STATUS,
        readyPattern: SCHEDULE_READY,
      });
    let status: ReplicatorStatus | undefined;
    const waitFor = async (
      edr: StartedEdr,
      what: string,
      condition: (s: ReplicatorStatus) => boolean,
      output?: RegExp,
    ) =>
      until(
        `edr schedule: ${what}`,
        async () => {
          status = await observe("edr schedule", edr.url);
          return condition(status) && (output === undefined || output.test(edr.child.stderr()));
        },
        60_000,
        () => `${JSON.stringify(status)}\n${outputOf(edr)}`,
      );

    // 401: halted, the remote's reason said (its echo of the token redacted), everything kept queued. A halted
    // sink tries again only after a minute, so each refusal gets a process of its own.
    const first = await schedule("edr schedule (401)", args, { EDR_LOCAL_TOKEN: LOCAL_TOKEN }, []);
    phase("started");
    await waitFor(
      first,
      "halted by a 401",
      (s) => s.state.startsWith("halted") && s.queue.entries > 0,
      /remote-401-marker/,
    );
    expect(remote.authorizations).toEqual(new Set([`Bearer ${REMOTE_TOKEN}`]));
    expect(JSON.stringify(status)).toMatch(/remote-401-marker/);
    const statusTable = await run(["status", "--url", first.url]);
    expect(statusTable.code, statusTable.stderr).toBe(1); // not healthy
    expect(statusTable.stdout).toMatch(/halted/);
    await run(["status", "--url", first.url, "--json"]);
    await stop("edr schedule (401)", first);
    phase("halted by 401");

    // 403: halted again, with the 403's reason.
    remote.mode = "403";
    const tokensInEnv = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };
    const second = await schedule("edr schedule (403)", common, tokensInEnv, []);
    await waitFor(second, "halted by a 403", (s) => s.state.startsWith("halted"), /remote-403-marker/);
    expect(JSON.stringify(status)).toMatch(/remote-403-marker/);
    await run(["status", "--url", second.url], tokensInEnv);
    await stop("edr schedule (403)", second);
    phase("halted by 403");

    // 400: every line queued so far is refused for good and dead-lettered with the remote's reason.
    remote.mode = "400";
    const edr = await schedule("edr schedule", common, { EDR_REMOTE_TOKEN: REMOTE_TOKEN }, [
      "--local-token",
      LOCAL_TOKEN,
    ]);
    await waitFor(edr, "dead letters from a 400", (s) => s.lines.deadLettered > 0, /refused by the remote/);
    phase("dead letters");

    // Accepted: the queue empties.
    remote.mode = "ok";
    await waitFor(edr, "delivered", (s) => s.lines.delivered > 0 && s.state === "healthy");

    phase("delivered");
    // The local instance refuses the reads, echoing the token edr sent it.
    local.faults.failAll({
      status: 401,
      on: "query",
      body: JSON.stringify({ error: `local-401-marker: bad token Bearer ${LOCAL_TOKEN}` }),
    });
    const refusedFrom = edr.child.stderr().length;
    await until(
      "edr schedule: a failed read of the local instance logged",
      () => /401/.test(edr.child.stderr().slice(refusedFrom)),
      30_000,
      () => outputOf(edr),
    );
    local.faults.clear();
    await waitFor(edr, "reading again", (s) => s.state === "healthy" && s.lines.delivered > 0);

    phase("local refusal logged, reading again");
    // The read-only commands, beside the running owner; one takes the queue directory from the arguments
    // holding the token.
    const inspect = await run(["queue", "inspect", "--queue-dir", queueDir]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/schedule/);
    expect((await run(["queue", "inspect", "--trigger-arguments", args, "--json"])).code).toBe(0);
    const letters = await run(["dead-letter", "list", "--queue-dir", queueDir, "--queue", "schedule"]);
    expect(letters.code, letters.stderr).toBe(0);
    expect(letters.stdout).toMatch(/remote-400-marker/);
    const lettersJson = await run(["dead-letter", "list", "--queue-dir", queueDir, "--json"]);
    expect(lettersJson.stdout).toMatch(/remote-400-marker/);

    phase("read-only commands run");
    // Files while it runs (the lock among them), then after it stopped.
    const running = await checkQueueDir("edr schedule running", [
      "edr_queue_schedule.jsonl.gz",
      "edr_queue_schedule.cursor",
      "edr_queue_schedule.lock",
      "edr_dead_letter_schedule.jsonl",
      "edr_watermarks_schedule.json",
    ]);
    expect(running.length).toBeGreaterThanOrEqual(5);
    clearInterval(writer);
    await stop("edr schedule", edr);
    await checkQueueDir("edr schedule stopped", ["edr_dead_letter_schedule.jsonl"]);
    expectNoSecrets();
  });

  it("edr listen queues only what the local instance stored, never another database's, and passes the rest untouched", async () => {
    const local = await startLocal();
    const remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
    cleanups.push(() => remote.close());
    // A head that is not gzip, written 0644 before edr first opens the queue: quarantined, and set to 0600.
    await mkdir(queueDir, { recursive: true, mode: 0o700 });
    await chmod(join(root, "edr"), 0o700);
    await chmod(queueDir, 0o700);
    await writeFile(join(queueDir, "edr_queue_writes.jsonl.gz"), "not gzip at all\n", { mode: 0o644 });

    const env = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };
    const edr = await start("edr listen", {
      args: [
        "listen",
        "--listen",
        "127.0.0.1:0",
        "--local-url",
        local.url,
        "--local-db",
        "edge",
        "--trigger-arguments",
        `host=${remote.url},database=central,queue_dir=${queueDir}`,
        "--verbose",
      ],
      env,
      urlPattern: LISTEN_READY,
    });
    // The remote refuses for now, so what is queued stays queued and can be inspected.
    remote.faults.failAll({ status: 503, retryAfter: 1 });
    const auth = { authorization: `Bearer ${LOCAL_TOKEN}` };
    const write = async (db: string, body: string, headers: Record<string, string> = auth) => {
      const res = await fetch(`${edr.url}/api/v3/write_lp?db=${db}&precision=nanosecond`, {
        method: "POST",
        headers,
        body,
      });
      return { status: res.status, body: await res.text() };
    };
    const accepted = async () => takenLines(await observe("edr listen", edr.url));
    const t = BigInt(Date.now()) * NS;
    const line = (v: number, table = "cpu") => `${table},host=h${v} v=${v} ${t + BigInt(v)}`;

    expect(await write("edge", [line(1), line(2)].join("\n"))).toEqual({ status: 204, body: "" });
    expect(await accepted()).toBe(2);

    // Refused by the local instance: the client gets the local answer, nothing is queued.
    for (const status of [400, 500, 401]) {
      const body = JSON.stringify({
        error: `local-${status}-marker: refused, you sent Bearer ${LOCAL_TOKEN}`,
      });
      local.faults.failNext(1, { status, body });
      const answer = await write("edge", line(10 + status));
      expect(answer.status).toBe(status);
      expect(answer.body).toContain(`local-${status}-marker`);
      expect(await accepted(), `a write the local instance answered ${status}`).toBe(2);
    }
    // A wrong token: the local instance's own 401, passed back.
    const wrongToken = await write("edge", line(20), { authorization: "Bearer not-the-token" });
    expect(wrongToken.status).toBe(401);
    expect(await accepted()).toBe(2);
    // A partial write: the stored lines only.
    const partial = await write("edge", [line(3), "cpu,host=bad v= 1", line(4)].join("\n"));
    expect(partial.status).toBe(400);
    expect(partial.body).toMatch(/partial write/);
    expect(await accepted()).toBe(4);
    expect(local.points("edge").length).toBe(4);

    // Another database: passed to the local instance unchanged, nothing queued.
    const before = local.requests.length;
    const otherBody = [line(5, "elsewhere"), line(6, "elsewhere")].join("\n");
    expect(await write("other", otherBody)).toEqual({ status: 204, body: "" });
    const forwarded = local.requests.slice(before);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toMatchObject({ method: "POST", path: "/api/v3/write_lp", body: otherBody });
    expect(forwarded[0]!.query).toEqual({ db: "other", precision: "nanosecond" });
    expect(forwarded[0]!.headers.authorization).toBe(`Bearer ${LOCAL_TOKEN}`);
    expect(local.points("other", "elsewhere")).toHaveLength(2);
    expect(await accepted()).toBe(4);
    const v1Other = await fetch(`${edr.url}/write?db=other&precision=ns`, {
      method: "POST",
      headers: { authorization: `Token ${LOCAL_TOKEN}` },
      body: line(7, "elsewhere"),
    });
    expect(v1Other.status).toBe(204);
    expect(await accepted()).toBe(4);

    // Queries and other paths: the same answer through edr as from the local instance, the request as sent.
    const q = encodeURIComponent("SELECT host, v FROM cpu ORDER BY host");
    const requests: [string, RequestInit][] = [
      [`/api/v3/query_sql?db=edge&q=${q}&format=jsonl`, { headers: auth }],
      [`/api/v3/query_sql?db=other&q=${encodeURIComponent("SELECT * FROM elsewhere")}`, { headers: auth }],
      [`/api/v3/query_sql?db=edge&q=${q}`, { headers: { authorization: "Bearer wrong" } }],
      ["/ping", { headers: auth }],
      ["/health", { headers: auth }],
      [
        "/api/v3/configure/database",
        { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: '{"db":"third"}' },
      ],
      ["/no/such/path?x=1", { headers: auth }],
    ];
    for (const [path, init] of requests) {
      const from = local.requests.length;
      const proxied = await fetch(`${edr.url}${path}`, init);
      const proxiedBody = await proxied.text();
      const sent = local.requests.slice(from);
      expect(sent, path).toHaveLength(1);
      expect(`${sent[0]!.path}?${new URLSearchParams(sent[0]!.query).toString()}`).toBe(
        `${new URL(path, "http://x").pathname}?${new URL(path, "http://x").searchParams.toString()}`,
      );
      expect(sent[0]!.headers.authorization).toBe((init.headers as Record<string, string>).authorization);
      expect(sent[0]!.body).toBe(typeof init.body === "string" ? init.body : "");
      // The configure call is not repeated (the database exists now: the second answer differs by design).
      if (path.startsWith("/api/v3/configure")) continue;
      const direct = await fetch(`${local.url}${path}`, init);
      expect({ status: proxied.status, body: proxiedBody }, path).toEqual({
        status: direct.status,
        body: await direct.text(),
      });
      expect(proxied.headers.get("content-type"), path).toBe(direct.headers.get("content-type"));
    }
    expect(await accepted()).toBe(4);

    // What the queue holds: the four stored lines of cpu, nothing of the other database.
    await settledStatus(edr.url);
    const inspect = await run(["queue", "inspect", "--queue-dir", queueDir, "--queue", "writes", "--json"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const report = JSON.parse(inspect.stdout) as {
      queues: { queue: { entries: number; perTable?: object } }[];
    };
    expect(report.queues).toHaveLength(1);
    expect(report.queues[0]!.queue.entries).toBe(4);
    expect(report.queues[0]!.queue.perTable).toEqual({ cpu: 4 });
    const all = await run(["queue", "inspect", "--queue-dir", queueDir]);
    expect(all.code, all.stderr).toBe(0);
    // edr listen's received log, every write moved on: whole writes, no tables to count.
    expect(all.stdout).toMatch(/queue writes_received \(.*\)\n(.*\n)*?\s*received\s+0 writes not yet queued/);

    phase("write-through checked");
    // The remote takes writes again: it ends holding exactly what the local instance holds in edge.
    remote.faults.clear();
    let status: ReplicatorStatus | undefined;
    await until(
      "edr listen: everything delivered",
      async () => {
        status = await observe("edr listen", edr.url);
        return status.lines.delivered === 4 && status.queue.entries === 0 && status.state === "healthy";
      },
      60_000,
      () => `${JSON.stringify(status)}\n${outputOf(edr)}`,
    );
    expect(sortStoredPoints(remote.points("central"))).toEqual(sortStoredPoints(local.points("edge")));
    expect(remote.points("other")).toEqual([]);
    expect(status!.lines).toMatchObject({ accepted: 4, delivered: 4, deadLettered: 0, queued: 0 });
    expect(edr.child.stderr()).toMatch(/quarantined \d+ bytes/);

    phase("listen drained");
    // On write with downsampling, in the same directory: an intake, the emitted watermark, late letters.
    const ds = await start("edr listen (downsampling)", {
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
        `host=${remote.url},database=central_ds,queue_dir=${queueDir},unique_file_suffix=ds,` +
          "aggregate_interval=1s,aggregate_grace=1s",
      ],
      env,
      urlPattern: LISTEN_READY,
    });
    const dsWrite = (body: string) =>
      fetch(`${ds.url}/api/v3/write_lp?db=edge&precision=nanosecond`, {
        method: "POST",
        headers: auth,
        body,
      });
    const oldNs = BigInt(Date.now() - 1_000) * NS;
    expect((await dsWrite(`ds,host=a v=1 ${oldNs}\nds,host=a v=3 ${oldNs + 1n}`)).status).toBe(204);
    let dsStatus: ReplicatorStatus | undefined;
    await until(
      "edr listen (downsampling): the bucket emitted",
      async () => {
        dsStatus = await observe("edr listen (downsampling)", ds.url);
        return dsStatus.lines.delivered > 0;
      },
      60_000,
      () => `${JSON.stringify(dsStatus)}\n${outputOf(ds)}`,
    );
    // A point for the bucket already emitted: set aside as late.
    expect((await dsWrite(`ds,host=a v=2 ${oldNs + 2n}`)).status).toBe(204);
    await until(
      "edr listen (downsampling): the late point set aside",
      async () => {
        dsStatus = await observe("edr listen (downsampling)", ds.url);
        return dsStatus.lines.late > 0;
      },
      60_000,
      () => `${JSON.stringify(dsStatus)}\n${outputOf(ds)}`,
    );

    phase("downsampling: late point set aside");
    const expected = [
      "edr_queue_writes.jsonl.gz",
      "edr_queue_writes.cursor",
      "edr_queue_writes.quarantine",
      "edr_queue_writes_ds.jsonl.gz",
      "edr_queue_writes_ds_intake.jsonl.gz",
      "edr_queue_writes_ds_intake.cursor",
      "edr_watermarks_writes_ds_downsampling.json",
      "edr_dead_letter_writes_ds_late.jsonl",
    ];
    await checkQueueDir("edr listen running", [...expected, "edr_queue_writes.lock"]);
    await stop("edr listen", edr);
    await stop("edr listen (downsampling)", ds);
    // The schedule test ran first in this directory: its files are here too, dead letters and watermarks.
    await checkQueueDir("edr listen stopped", expected);
    expect(
      (await run(["dead-letter", "list", "--queue-dir", queueDir, "--queue", "writes_ds_late"])).code,
    ).toBe(0);
    expectNoSecrets();
  });

  it("bad arguments, --help and a status nobody answers print no token", async () => {
    const env = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };
    const bad = [
      [
        "schedule",
        "--trigger-spec",
        "every:zz",
        "--local-token",
        LOCAL_TOKEN,
        "--trigger-arguments",
        `host=ftp://x,token=${REMOTE_TOKEN},database=,window=banana,nonsense=1`,
      ],
      [
        "listen",
        "--listen",
        "nowhere",
        "--trigger-arguments",
        `host=http://127.0.0.1:1,token=${REMOTE_TOKEN},local_token=${LOCAL_TOKEN},database=d,aggregate_interval=-1s`,
      ],
      ["queue", "drain", "--trigger-arguments", `token=${REMOTE_TOKEN},database=`],
      ["dead-letter", "replay", "--trigger-arguments", `host=:/,token=${REMOTE_TOKEN}`, "--status", "x"],
      ["schedule", `--local-token=${LOCAL_TOKEN}`, `--unknown=${REMOTE_TOKEN}`],
    ];
    for (const args of bad) {
      const result = await run(args, env);
      expect(result.code, `${args.join(" ")}:\n${result.stderr}`).toBe(2);
      expect(result.stderr.length).toBeGreaterThan(0);
    }
    for (const args of [
      ["--help"],
      ["schedule", "--help"],
      ["listen", "--help"],
      ["queue", "inspect", "--help"],
    ]) {
      const result = await run(args, env);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout).toMatch(/EDR_REMOTE_TOKEN|edr/);
    }
    const nobody = await run(["status", "--url", "http://127.0.0.1:1"], env);
    expect(nobody.code).toBe(1);
    expectNoSecrets();
  });
});

// Guard: the tokens are searched for in forms that would also catch a token printed whole.
it("finds a token in every form it is searched for", () => {
  const basic = Buffer.from(`user:${REMOTE_TOKEN}`).toString("base64");
  for (const text of [REMOTE_TOKEN, `Authorization: Basic ${basic}`, `x ${encodeURIComponent(LOCAL_TOKEN)}`])
    expect(findSecrets("probe", text, TOKENS).length, text).toBeGreaterThan(0);
  expect(findSecrets("probe", "rmt-SECRET-8f3b1c9e-remote-tok", TOKENS)).toEqual([]);
});
