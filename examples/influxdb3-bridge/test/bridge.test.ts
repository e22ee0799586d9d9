// edr_bridge.py run by python3 as the processing engine runs it (test/run_bridge.py, with the engine-shaped
// influxdb3_local of test/engine_stub.py), posting to the real `edr listen` between two edr-testkit servers.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  edrCommand,
  findCommand,
  flagValue,
  shellWords,
  runEdr,
  startEdr,
  type EdrChild,
} from "edr-testkit/edr-command";

/** The `edr` command, from this example's edr-plugin. */
const EDR = edrCommand(import.meta.url);

const EXAMPLE = join(import.meta.dirname, "..");
const REMOTE_TOKEN = "bridge-remote-secret-1234";
const LOCAL_TOKEN = "bridge-local-secret-5678";

let readme: string;
let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let edr: EdrChild;
let edrUrl: string;
let dir = "";
const printed: string[] = [];

interface LogRow {
  trigger_name: string;
  log_level: "INFO" | "WARN" | "ERROR";
  log_text: string;
}
interface EngineRun {
  code: number;
  logs: LogRow[];
  raised: string | null;
}

beforeAll(async () => {
  readme = await readFile(join(EXAMPLE, "README.md"), "utf8");
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
  dir = await mkdtemp(join(tmpdir(), "edr-example-bridge-"));
  const command = findCommand(readme, "npx edr listen")
    .replace("http://127.0.0.1:8181", local.url)
    .replace("https://central:8181", remote.url);
  edr = startEdr(EDR, [...shellWords(command).slice(2), "--listen", "127.0.0.1:0", "--queue-dir", dir], {
    EDR_REMOTE_TOKEN: REMOTE_TOKEN,
    EDR_LOCAL_TOKEN: LOCAL_TOKEN,
  });
  edrUrl = (await edr.waitFor(/point your clients at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
});

afterAll(async () => {
  if (edr !== undefined && edr.process.exitCode === null) {
    edr.process.kill("SIGKILL");
    await edr.exited;
  }
  await Promise.all([local?.close(), remote?.close()]);
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

/** The trigger of the README's `influxdb3 create trigger` line, with edr_url pointed at `url`. */
function trigger(url: string): { pluginFile: string; triggerArguments: string } {
  const words = shellWords(findCommand(readme, "influxdb3 create trigger"));
  expect(flagValue(words, "--trigger-spec")).toBe("all_tables");
  expect(words.at(-1)).toBe("edr_bridge");
  return {
    pluginFile: join(EXAMPLE, flagValue(words, "--plugin-filename")),
    triggerArguments: flagValue(words, "--trigger-arguments").replace("http://127.0.0.1:8182", url),
  };
}

/** One WAL flush: `process_writes(influxdb3_local, table_batches, args)` in python3, batches as JSON text. */
async function runPlugin(tableBatchesJson: string, edrUrlArgument = edrUrl): Promise<EngineRun> {
  const { pluginFile, triggerArguments } = trigger(edrUrlArgument);
  const batches = join(dir, `batches-${Date.now()}.json`);
  await writeFile(batches, tableBatchesJson);
  const run = promisify(execFile)(
    "python3",
    [join(EXAMPLE, "test", "run_bridge.py"), pluginFile, triggerArguments, batches],
    {
      cwd: join(EXAMPLE, "test"),
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    },
  );
  let stdout: string;
  let code = 0;
  try {
    stdout = (await run).stdout;
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number" || failed.stdout === undefined) throw error;
    code = failed.code;
    stdout = failed.stdout;
  }
  const result = JSON.parse(stdout) as Omit<EngineRun, "code">;
  return { code, ...result };
}

async function writeLocal(lines: string): Promise<void> {
  const response = await fetch(`${local.url}/api/v3/write_lp?db=mydb&precision=nanosecond`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
    body: lines,
  });
  expect(response.status).toBe(204);
}

async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${edr.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("edr_bridge.py in the processing engine", () => {
  it("forwards a WAL flush: the remote gets the rows exactly as the local instance stored them", async () => {
    // What clients wrote to InfluxDB; the engine then hands the plugin the same rows as Python values.
    await writeLocal(
      [
        'cpu,host=a usage=21.0,count=9223372036854775807i,big=18446744073709551615u,ok=false,note="he said \\"hi\\"\n" 1700000000000000001',
        "cpu,host=b usage=19.5 1700000000000000002",
        "mem,host=a used=-9223372036854775808i 1700000000000000003",
        "disk,host=a free=1i 1700000000000000004",
      ].join("\n"),
    );
    // JSON as json.loads gives it to Python: ints exact, 21.0 a float, null None (a column the write did not set).
    const run = await runPlugin(`[
      {"table_name": "cpu", "rows": [
        {"host": "a", "usage": 21.0, "count": 9223372036854775807, "big": 18446744073709551615, "ok": false,
         "note": "he said \\"hi\\"\\n", "time": 1700000000000000001},
        {"host": "b", "usage": 19.5, "count": null, "big": null, "ok": null, "note": null, "time": 1700000000000000002}
      ]},
      {"table_name": "mem", "rows": [{"host": "a", "used": -9223372036854775808, "time": 1700000000000000003}]},
      {"table_name": "disk", "rows": [{"host": "a", "free": 1, "time": 1700000000000000004}]}
    ]`);
    expect(run).toMatchObject({ code: 0, raised: null });
    expect(run.logs.map((row) => [row.trigger_name, row.log_level, row.log_text])).toEqual([
      ["edr_bridge", "INFO", "Forwarded 4 rows of cpu,mem,disk to edr: 3 lines accepted"],
    ]);

    await until("the remote holds cpu and mem", () => remote.points("replica").length === 3);
    expect(remote.points("replica", "cpu")).toEqual(local.points("mydb", "cpu"));
    expect(remote.points("replica", "mem")).toEqual(local.points("mydb", "mem"));
    expect(remote.points("replica", "disk")).toEqual([]);
    const [a, b] = remote.points("replica", "cpu");
    expect(a).toEqual({
      measurement: "cpu",
      tags: { host: "a" },
      fields: {
        usage: { type: "float", value: 21 },
        count: { type: "integer", value: 9223372036854775807n },
        big: { type: "unsigned", value: 18446744073709551615n },
        ok: { type: "boolean", value: false },
        note: { type: "string", value: 'he said "hi"\n' },
      },
      timeNs: 1700000000000000001n,
    });
    expect(b!.fields).toEqual({ usage: { type: "float", value: 19.5 } });
    expect(remote.points("replica", "mem")[0]!.fields["used"]).toEqual({
      type: "integer",
      value: -9223372036854775808n,
    });
  });

  it("leaves out a value JSON cannot carry (an infinite float), warns, and forwards the rest of the row", async () => {
    await writeLocal("cpu,host=c count=7i 1700000000000000005");
    const run = await runPlugin(
      `[{"table_name": "cpu", "rows": [{"host": "c", "usage": Infinity, "count": 7, "time": 1700000000000000005}]}]`,
    );
    expect(run).toMatchObject({ code: 0, raised: null });
    expect(run.logs.map((row) => [row.log_level, row.log_text])).toEqual([
      ["WARN", "left out cpu.usage=inf at time 1700000000000000005: line protocol has no NaN or Infinity"],
      ["INFO", "Forwarded 1 rows of cpu to edr: 1 lines accepted"],
    ]);
    await until("the remote holds host c", () => remote.points("replica", "cpu").length === 3);
    expect(remote.points("replica", "cpu")[2]).toEqual(local.points("mydb", "cpu")[2]);
  });

  it("raises when edr is not there, after an ERROR row saying why, so the engine logs and can retry it", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const batch = `[{"table_name": "cpu", "rows": [{"host": "d", "usage": 1.0, "time": 1700000000000000006}]}]`;
    const down = await runPlugin(batch, `http://127.0.0.1:${closedPort}`);
    expect(down.code).toBe(1);
    expect(down.raised).toMatch(
      /^RuntimeError: edr is unreachable at http:\/\/127\.0\.0\.1:\d+\/api\/edr\/v1\/table_batches: .*Connection refused/,
    );
    expect(down.logs.map((row) => row.log_level)).toEqual(["ERROR"]);
    expect(down.logs[0]!.log_text).toBe(down.raised!.replace(/^RuntimeError: /, ""));

    // edr_url pointing at something that is not edr: its answer is in the error.
    const wrong = await runPlugin(batch, remote.url);
    expect(wrong.code).toBe(1);
    expect(wrong.raised).toMatch(/^RuntimeError: edr did not take 1 rows of cpu: 401 .*not authenticated/);
    expect(wrong.logs.map((row) => row.log_level)).toEqual(["ERROR"]);
  });

  it("sends nothing and logs nothing for an empty flush", async () => {
    const run = await runPlugin(`[{"table_name": "cpu", "rows": []}]`);
    expect(run).toEqual({ code: 0, logs: [], raised: null });
  });

  it("leaves edr healthy with every accepted line delivered; edr stops on SIGTERM and never shows a token", async () => {
    type Status = { state: string; lines: { accepted: number; delivered: number; queued: number } };
    const status = async () => (await (await fetch(`${edrUrl}/status`)).json()) as Status;
    // The remote stores the lines a moment before edr hears its answer.
    await until("edr counts every line delivered", async () => (await status()).lines.delivered === 4);
    const shown = await status();
    expect(shown).toMatchObject({ state: "healthy", lines: { accepted: 4, delivered: 4, queued: 0 } });
    const printedStatus = await runEdr(EDR, ["status", "--url", edrUrl]);
    expect(printedStatus.code).toBe(0);
    expect(await edr.stop()).toBe(0);
    printed.push(edr.stdout(), edr.stderr(), printedStatus.stdout, JSON.stringify(shown));
    for (const text of printed) {
      expect(text).not.toContain(REMOTE_TOKEN);
      expect(text).not.toContain(LOCAL_TOKEN);
    }
  });
});
