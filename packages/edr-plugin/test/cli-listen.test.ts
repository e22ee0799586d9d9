// `edr listen` and `edr status` driven in child processes as a user would: writes through the endpoint,
// status and metrics on the same address, the engine's table batches posted by python3, and SIGTERM.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runEdr, startEdr, type EdrChild } from "./edr-child.js";

const REMOTE_TOKEN = "listen-remote-secret-5521";
const LOCAL_TOKEN = "listen-local-secret-9930";
const NS = 1_000_000n;

let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let dir: string;
let edr: EdrChild | undefined;

beforeAll(async () => {
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
});
afterAll(async () => {
  await Promise.all([local.close(), remote.close()]);
});
beforeEach(async () => {
  local.reset();
  remote.reset();
  dir = await mkdtemp(join(tmpdir(), "edr-cli-listen-"));
});
afterEach(async () => {
  if (edr !== undefined && edr.process.exitCode === null) {
    edr.process.kill("SIGKILL");
    await edr.exited;
  }
  edr = undefined;
});

/** Starts `edr listen` on a free port and resolves with its URL. */
async function listen(extra = ""): Promise<string> {
  edr = startEdr(
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
      `host=${remote.url},database=central,queue_dir=${dir}${extra}`,
    ],
    { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN },
  );
  await edr.waitFor(/point your clients at (http:\/\/127\.0\.0\.1:\d+)/);
  return /point your clients at (http:\/\/127\.0\.0\.1:\d+)/.exec(edr.stderr())![1]!;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met in time:\n${edr?.stderr() ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("edr listen", () => {
  it("replicates what clients write through it, and serves status and metrics", async () => {
    const url = await listen(",tables=cpu,tables_rename=cpu:cpu_remote");
    const write = await fetch(`${url}/api/v3/write_lp?db=edge&precision=second`, {
      method: "POST",
      headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
      body: "cpu,host=a usage=1.5 1700000000\ncpu,host=b usage=2.5 1700000001\nmem,host=a used=3i 1700000000",
    });
    expect(write.status).toBe(204);
    // The local instance has all of it; the remote gets the replicated table, renamed, in ns.
    expect(local.points("edge")).toHaveLength(3);
    await until(() => remote.points("central", "cpu_remote").length === 2);
    expect(remote.points("central", "cpu_remote")[0]!.timeNs).toBe(1_700_000_000n * 1000n * NS);
    expect(remote.points("central", "mem")).toEqual([]);

    // The remote stored the lines a moment before edr hears its answer: read /status until it has.
    type Status = { state: string; lines: { delivered: number } };
    const readStatus = async () => (await (await fetch(`${url}/status`)).json()) as Status;
    await until(async () => (await readStatus()).lines.delivered === 2);
    const status = await readStatus();
    expect(status).toMatchObject({ state: "healthy", lines: { delivered: 2 } });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^edr_lines_delivered_total 2$/m);
    expect(metrics).toMatch(/^edr_state\{state="healthy"\} 1$/m);
    expect(metrics).toMatch(/^edr_requests_total\{status="204"\} 1$/m);

    const printed = await runEdr(["status", "--url", url]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^edr listen at .*: healthy$/m);
    expect(printed.stdout).toMatch(/^ {2}lines +accepted 2, delivered 2, dead-lettered 0, queued 0$/m);

    edr!.process.kill("SIGTERM");
    expect((await edr!.exited).code).toBe(0);
    for (const output of [edr!.stdout(), edr!.stderr(), printed.stdout, metrics, JSON.stringify(status)]) {
      expect(output).not.toContain(REMOTE_TOKEN);
      expect(output).not.toContain(LOCAL_TOKEN);
    }
  });

  it("says degraded in edr status while the remote fails, and exits 1", async () => {
    const url = await listen(",max_retries=0");
    remote.faults.failAll({ status: 503, retryAfter: 0 });
    await fetch(`${url}/write?db=edge`, {
      method: "POST",
      headers: { authorization: `Token ${LOCAL_TOKEN}` },
      body: `cpu,host=a usage=1 ${Date.now()}000000`,
    });
    await until(async () => (await runEdr(["status", "--url", url])).code === 1);
    const printed = await runEdr(["status", "--url", url]);
    expect(printed.stdout).toMatch(/: degraded: the last lines sent were not delivered: 503/);
    expect(printed.stdout).toMatch(/requests +\d+ \(503 \d+\)/);
    remote.faults.clear();
    await until(() => remote.points("central", "cpu").length === 1);
  });

  it("takes the engine's table batches posted by a python3 plugin", async () => {
    // The local instance knows the table: tags vs fields come from its information_schema.
    await fetch(`${local.url}/api/v3/write_lp?db=edge`, {
      method: "POST",
      headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
      body: 'weather,station=x temp=1.0,count=1i,ok=true,note="a" 1',
    });
    const url = await listen();
    // What the processing engine hands process_writes: rows as dicts, time in ns, Python types.
    const script = join(dir, "post.py");
    await writeFile(
      script,
      [
        "import json, sys, urllib.request",
        "table_batches = [{'table_name': 'weather', 'rows': [",
        "  {'station': 'x', 'temp': 21.0, 'count': 9223372036854775807, 'ok': False, 'note': 'he said \"hi\"\\n', 'time': 1700000000000000001},",
        "  {'station': 'y', 'temp': 19.5, 'time': 1700000000000000002},",
        "]}]",
        "req = urllib.request.Request(sys.argv[1] + '/api/edr/v1/table_batches', data=json.dumps(table_batches).encode(),",
        "                             headers={'Content-Type': 'application/json'}, method='POST')",
        "with urllib.request.urlopen(req) as resp:",
        "    print(resp.status, resp.headers['x-edr-lines-accepted'])",
      ].join("\n"),
    );
    const { stdout } = await promisify(execFile)("python3", [script, url]);
    expect(stdout.trim()).toBe("204 2");
    await until(() => remote.points("central", "weather").length === 2);
    const points = remote.points("central", "weather");
    expect(points[0]!.fields).toEqual({
      temp: { type: "float", value: 21 },
      count: { type: "integer", value: 9223372036854775807n },
      ok: { type: "boolean", value: false },
      note: { type: "string", value: 'he said "hi"\n' },
    });
    expect(points.map((p) => p.timeNs)).toEqual([1700000000000000001n, 1700000000000000002n]);
  });
});
