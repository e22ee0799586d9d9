// The README's commands and the systemd unit, run as written against two edr-testkit servers standing in for
// the local and the remote InfluxDB 3. Only addresses, paths and the call time are the test's own.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startInfluxDB3Server, type InfluxDB3TestServer, type StoredPoint } from "edr-testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  findCommand,
  flagValue,
  logicalLines,
  shellWords,
  unitSettings,
  runEdr,
  startEdr,
  type EdrChild,
} from "edr-testkit/edr-command";
import { edrCommand } from "../src/edr-command.js";

/** The `edr` command, from this example's edr-plugin. */
const EDR = edrCommand();

const REMOTE_TOKEN = "scheduled-remote-secret-7310";
const LOCAL_TOKEN = "scheduled-local-secret-2294";
const EXAMPLE = join(import.meta.dirname, "..");
const NS_PER_MS = 1_000_000n;

let readme: string;
let unit: string;
let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let dir: string;
const dirs: string[] = [];
let running: EdrChild | undefined;
const printed: string[] = [];

beforeAll(async () => {
  readme = await readFile(join(EXAMPLE, "README.md"), "utf8");
  unit = await readFile(join(EXAMPLE, "edr-schedule.service"), "utf8");
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
});
afterAll(async () => {
  await Promise.all([local.close(), remote.close()]);
  await Promise.all(dirs.map((path) => rm(path, { recursive: true, force: true })));
  // Every test kept what edr printed: the tokens were never in it, whichever way they were given.
  for (const text of printed) {
    expect(text).not.toContain(REMOTE_TOKEN);
    expect(text).not.toContain(LOCAL_TOKEN);
  }
});
beforeEach(async () => {
  local.reset();
  remote.reset();
  dir = await mkdtemp(join(tmpdir(), "edr-example-scheduled-"));
  dirs.push(dir);
});
afterEach(async () => {
  if (running !== undefined && running.process.exitCode === null) {
    running.process.kill("SIGKILL");
    await running.exited;
  }
  running = undefined;
});

/** The README's hosts pointed at the test servers. */
function localize(command: string): string {
  return command
    .replaceAll("http://127.0.0.1:8181", local.url)
    .replaceAll("https://central:8181", remote.url);
}

/** Writes cpu, mem and disk (not replicated) to the local instance, one point a second per table. */
async function writeLocal(fromMs: number, seconds: number): Promise<void> {
  const lines: string[] = [];
  for (let s = 0; s < seconds; s++) {
    const ns = BigInt(fromMs + s * 1000) * NS_PER_MS;
    lines.push(`cpu,host=edge1 usage=${s + 0.5},cores=4i ${ns}`);
    lines.push(`mem,host=edge1 used=${1000 + s}i ${ns}`);
    lines.push(`disk,host=edge1 free=${s}i ${ns}`);
  }
  const response = await fetch(`${local.url}/api/v3/write_lp?db=mydb&precision=nanosecond`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
    body: lines.join("\n"),
  });
  expect(response.status).toBe(204);
}

/** The local instance's cpu and mem points with a time in `[fromMs, toMs)`, as the remote should hold them. */
function expectedWindow(fromMs: number, toMs: number): StoredPoint[] {
  const inWindow = (p: StoredPoint) =>
    p.timeNs >= BigInt(fromMs) * NS_PER_MS && p.timeNs < BigInt(toMs) * NS_PER_MS;
  return [...local.points("mydb", "cpu"), ...local.points("mydb", "mem")].filter(inWindow);
}

function remoteCopy(): StoredPoint[] {
  return [...remote.points("replica", "cpu"), ...remote.points("replica", "mem")];
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${running?.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A call time on a 10 s boundary in the recent past, as an `every:10s` tick is.
const callTimeMs = () => Math.floor(Date.now() / 10_000) * 10_000 - 10_000;

describe("the README's commands", () => {
  it("take the Python plugin's trigger-argument string as it is and copy its window", async () => {
    const trigger = shellWords(findCommand(readme, "influxdb3 create trigger"), {
      REMOTE_TOKEN: "REMOTE_TOKEN",
    });
    const schedule = findCommand(readme, "npx edr schedule", { including: "--trigger-spec" });
    expect(flagValue(trigger, "--trigger-spec")).toBe("every:10s");
    expect(flagValue(shellWords(schedule, { REMOTE_TOKEN: "REMOTE_TOKEN" }), "--trigger-spec")).toBe(
      "every:10s",
    );
    expect(flagValue(shellWords(schedule, { REMOTE_TOKEN: "REMOTE_TOKEN" }), "--trigger-arguments")).toBe(
      flagValue(trigger, "--trigger-arguments"),
    );

    const callTime = callTimeMs();
    await writeLocal(callTime - 15_000, 20);
    // The token in the arguments, as the plugin had it; one run (--once) for the window ending at callTime.
    const words = shellWords(localize(schedule), { REMOTE_TOKEN });
    expect(words.slice(0, 3)).toEqual(["npx", "edr", "schedule"]);
    const result = await runEdr(
      EDR,
      [...words.slice(2), "--once", "--call-time", new Date(callTime).toISOString()],
      { EDR_LOCAL_TOKEN: LOCAL_TOKEN, PLUGIN_DIR: dir },
    );
    printed.push(result.stdout, result.stderr);
    expect(result.stderr).toMatch(/Queued 20 lines from cpu,mem/);
    expect(result.code).toBe(0);
    expect(remoteCopy()).toEqual(expectedWindow(callTime - 10_000, callTime));
    expect(remote.points("replica", "disk")).toEqual([]);
  });

  it("one run with the tokens in the environment: the --once line as written", async () => {
    const once = findCommand(readme, "npx edr schedule --once");
    const callTime = callTimeMs();
    await writeLocal(callTime - 15_000, 20);
    const words = shellWords(localize(once));
    const result = await runEdr(EDR, [...words.slice(2), "--call-time", new Date(callTime).toISOString()], {
      EDR_REMOTE_TOKEN: REMOTE_TOKEN,
      EDR_LOCAL_TOKEN: LOCAL_TOKEN,
      PLUGIN_DIR: dir,
    });
    printed.push(result.stdout, result.stderr);
    expect(result.stdout).toBe("queued 20, replicated 20, dead-lettered 0, refused 0, still queued 0: ok\n");
    expect(result.code).toBe(0);
    // The README shows that summary line as it comes.
    expect(logicalLines(readme)).toContain(result.stdout.trim());
    const copied = remoteCopy();
    expect(copied).toHaveLength(20);
    expect(copied).toEqual(expectedWindow(callTime - 10_000, callTime));
  });
});

describe("the systemd unit", () => {
  it("is what the README shows, with the settings a service needs", () => {
    expect(readme).toContain("```ini\n" + unit + "```");
    const settings = unitSettings(unit);
    expect(settings.get("Restart")).toBe("on-failure");
    expect(settings.get("KillSignal")).toBe("SIGTERM");
    expect(settings.get("TimeoutStopSec")).toMatch(/^\d+s$/);
    expect(settings.get("EnvironmentFile")).toBe("/etc/edr/edr-schedule.env");
    expect(settings.get("StateDirectory")).toBe("edr");
    expect(flagValue(shellWords(settings.get("ExecStart")!), "--queue-dir")).toBe("/var/lib/edr");
  });

  it("runs its ExecStart with its EnvironmentFile: replicates, answers edr status and queue inspect, stops on SIGTERM", async () => {
    // The environment file as the README writes it: the names edr reads, the test's tokens as values.
    const envFile = logicalLines(readme).slice(
      logicalLines(readme).indexOf("# /etc/edr/edr-schedule.env") + 1,
    );
    const names = envFile.slice(0, 2).map((line) => line.split("=")[0]);
    expect(names).toEqual(["EDR_REMOTE_TOKEN", "EDR_LOCAL_TOKEN"]);
    const env = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };

    // Every second rather than every 10 s, so that the test does not wait for the first tick.
    const execStart = localize(unitSettings(unit).get("ExecStart")!)
      .replace("every:10s", "every:1s")
      .replace("/var/lib/edr", dir)
      .replace("--status-address 127.0.0.1:8183", "--status-address 127.0.0.1:0");
    const words = shellWords(execStart);
    expect(words[0]).toBe("/opt/edr/node_modules/.bin/edr");
    running = startEdr(EDR, words.slice(1), env);
    const [, statusUrl] = await running.waitFor(/status at (http:\/\/127\.0\.0\.1:\d+)\/status/);
    // Written once it runs, however long it took to start: the next ticks' windows hold these points.
    const now = Date.now();
    await writeLocal(now - 2000, 5);

    const expected = expectedWindow(now - 2000, now + 3000);
    expect(expected).toHaveLength(10);
    await until("the remote holds the points", () => remoteCopy().length === expected.length);
    expect(remoteCopy()).toEqual(expected);

    const status = await runEdr(EDR, ["status", "--url", statusUrl!]);
    expect(status.stdout).toMatch(/: healthy$/m);
    expect(status.stdout).toMatch(/^ {2}lines +accepted \d+, delivered \d+, dead-lettered 0/m);
    expect(status.code).toBe(0);
    const inspect = await runEdr(EDR, ["queue", "inspect", "--queue-dir", dir, "--json"]);
    expect(inspect.code).toBe(0);
    const report = JSON.parse(inspect.stdout) as {
      queues: { queue: { name: string; lock: { alive: boolean } }; watermarks: Record<string, string> }[];
    };
    // Read beside the running owner (its lock alive), with a watermark per replicated table.
    expect(report.queues.map((q) => [q.queue.name, q.queue.lock.alive])).toEqual([["schedule", true]]);
    expect(Object.keys(report.queues[0]!.watermarks).sort()).toEqual(["cpu", "mem"]);
    printed.push(status.stdout, status.stderr, inspect.stdout, inspect.stderr);

    // What systemd does on `systemctl stop`: SIGTERM, then waits up to TimeoutStopSec.
    const stopping = Date.now();
    expect(await running.stop()).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(10_000);
    expect(running.stderr()).toMatch(/SIGTERM/);
    printed.push(running.stdout(), running.stderr());
  });
});
