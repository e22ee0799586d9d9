// The `edr` command driven in a child process as a user would: help, bad arguments, one run, signals, and
// `queue inspect` beside a running `edr schedule`. Two edr-testkit servers stand in for the local and the
// remote InfluxDB 3.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runEdr, startEdr } from "./edr-child.js";

const REMOTE_TOKEN = "cli-remote-secret-4411";
const LOCAL_TOKEN = "cli-local-secret-8822";
const T0 = Date.parse("2026-01-01T00:00:00Z");
const NS = 1_000_000n;

let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let dir: string;

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
  dir = await mkdtemp(join(tmpdir(), "edr-cli-"));
});

/** The environment a user sets: tokens out of the command line. */
const env = () => ({ EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN });

function triggerArguments(extra = ""): string {
  return `host=${remote.url},database=central,tables=cpu,window=10min,max_retries=0,queue_dir=${dir}${extra}`;
}

async function writeLocal(minutes: number): Promise<void> {
  const lines: string[] = [];
  for (let s = 0; s < minutes * 60; s += 10) lines.push(`cpu,host=a v=${s}i ${BigInt(T0 + s * 1000) * NS}`);
  const response = await fetch(`${local.url}/api/v3/write_lp?db=edge&precision=nanosecond`, {
    method: "POST",
    body: lines.join("\n"),
    headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
  });
  expect(response.status).toBe(204);
}

function expectNoTokens(...outputs: string[]): void {
  for (const output of outputs) {
    expect(output).not.toContain(REMOTE_TOKEN);
    expect(output).not.toContain(LOCAL_TOKEN);
  }
}

describe("edr --help", () => {
  it("lists the commands, and each command its options, examples and trigger arguments", async () => {
    const main = await runEdr(["--help"]);
    expect(main.code).toBe(0);
    for (const command of [
      "schedule",
      "queue inspect",
      "queue drain",
      "dead-letter list",
      "dead-letter replay",
    ])
      expect(main.stdout).toContain(`  ${command} `);
    const schedule = await runEdr(["schedule", "--help"]);
    expect(schedule.code).toBe(0);
    expect(schedule.stdout).toMatch(/--trigger-spec SPEC/);
    expect(schedule.stdout).toMatch(/--once/);
    expect(schedule.stdout).toMatch(/^ {2}window +Time window/m);
    expect(schedule.stdout).toMatch(/Examples:/);
    const bare = await runEdr([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/Usage: edr <command>/);
  });

  it("answers an unknown command with the commands it knows, exit 2", async () => {
    const result = await runEdr(["queue", "empty"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /unknown command "queue empty"; expected one of: edr queue inspect, edr queue drain/,
    );
  });
});

describe("bad arguments", () => {
  it("prints every problem at once and exits 2, the token never shown", async () => {
    const result = await runEdr([
      "schedule",
      "--trigger-spec",
      "every:10x",
      "--trigger-arguments",
      `host=,token=${REMOTE_TOKEN},database=d,window=10x,tabels=cpu`,
      "--local-api",
      "flux",
      "--bogus",
    ]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    const problems = result.stderr.split("\n").filter((line) => line.startsWith("  - "));
    expect(problems.join("\n")).toMatch(/--bogus: unknown option/);
    expect(problems.join("\n")).toMatch(/--trigger-spec: expected every:<number><unit>/);
    expect(problems.join("\n")).toMatch(/--local-api: expected sql or influxql, got "flux"/);
    expect(problems.join("\n")).toMatch(/window: expected/);
    expect(problems.join("\n")).toMatch(/tabels: .*tables/);
    expect(problems.join("\n")).toMatch(/host: /);
    expect(result.stderr).toMatch(/Run `edr schedule --help`/);
    expectNoTokens(result.stdout, result.stderr);
  });

  it("names a missing --local-db among the other problems, in both modes", async () => {
    for (const [command, extra] of [
      ["schedule", ["--trigger-spec", "every:10s"]],
      ["listen", []],
    ] as const) {
      const result = await runEdr(
        [command, ...extra, "--trigger-arguments", "host=,database=d,window=10x,aggregate_interval=7x"],
        env(),
      );
      expect(result.code, command).toBe(2);
      expect(result.stderr, command).toMatch(/host: /);
      expect(result.stderr, command).toMatch(/--local-db: required/);
    }
  });

  it("refuses an argument given both as a flag and in --trigger-arguments", async () => {
    const result = await runEdr(
      ["schedule", "--once", "--queue-dir", dir, "--trigger-arguments", triggerArguments()],
      env(),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/queue_dir: given both in --trigger-arguments and as --queue-dir/);
  });
});

describe("edr schedule --once", () => {
  it("copies the window, prints a summary and exits 0", async () => {
    await writeLocal(10);
    const result = await runEdr(
      [
        "schedule",
        "--once",
        "--call-time",
        new Date(T0 + 10 * 60_000).toISOString(),
        "--local-url",
        local.url,
        "--local-db",
        "edge",
        "--trigger-arguments",
        triggerArguments(),
      ],
      env(),
    );
    expect(result.stderr).toMatch(/Queued 60 lines from cpu/);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("queued 60, replicated 60, dead-lettered 0, refused 0, still queued 0: ok\n");
    expect(remote.points("central", "cpu")).toHaveLength(60);
    expectNoTokens(result.stdout, result.stderr);
  });

  it("exits 1 saying why when the remote refuses the token, the lines kept queued", async () => {
    await writeLocal(10);
    remote.faults.failAll({ status: 401 });
    const args = [
      "schedule",
      "--once",
      "--call-time",
      new Date(T0 + 10 * 60_000).toISOString(),
      "--local-url",
      local.url,
      "--local-db",
      "edge",
      "--trigger-arguments",
      triggerArguments(),
    ];
    const result = await runEdr(args, env());
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/still queued 60: failed: .*halted: 401/);
    remote.faults.clear();
    const inspect = await runEdr(["queue", "inspect", "--queue-dir", dir, "--json"]);
    expect(inspect.code).toBe(0);
    const report = JSON.parse(inspect.stdout) as {
      queues: { queue: { name: string; entries: number; perTable: object } }[];
    };
    expect(report.queues.map((q) => [q.queue.name, q.queue.entries, q.queue.perTable])).toEqual([
      ["schedule", 60, { cpu: 60 }],
    ]);
    const drain = await runEdr(["queue", "drain", "--trigger-arguments", triggerArguments()], env());
    expect(drain.stdout).toBe("delivered 60, dead-lettered 0, 0 left: the queue is empty\n");
    expect(drain.code).toBe(0);
    expect(remote.points("central", "cpu")).toHaveLength(60);
    expectNoTokens(result.stdout, result.stderr, drain.stdout, drain.stderr);
  });
});

describe("edr schedule (long-running)", () => {
  const scheduleArgs = () => [
    "schedule",
    "--trigger-spec",
    "every:1s",
    "--local-url",
    local.url,
    "--local-db",
    "edge",
    "--trigger-arguments",
    `host=${remote.url},database=central,tables=cpu,window=1h,max_retries=0,queue_dir=${dir}`,
  ];

  async function writeRecent(): Promise<void> {
    const now = Date.now();
    const lines = Array.from(
      { length: 30 },
      (_, i) => `cpu,host=a v=${i}i ${BigInt(now - 60_000 + i * 1000) * NS}`,
    );
    const response = await fetch(`${local.url}/api/v3/write_lp?db=edge&precision=nanosecond`, {
      method: "POST",
      body: lines.join("\n"),
      headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
    });
    expect(response.status).toBe(204);
  }

  it("finishes the run in progress on SIGTERM and exits 0", async () => {
    await writeRecent();
    // Each write takes 1.5 s to answer, so the signal arrives while the run is sending.
    remote.faults.delay(1500);
    const edr = startEdr(scheduleArgs(), env());
    await edr.waitFor(/Queued 30 lines from cpu/);
    edr.process.kill("SIGTERM");
    const { code } = await edr.exited;
    expect(edr.stderr()).toMatch(/SIGTERM received: finishing the current run/);
    expect(edr.stderr()).toMatch(/Replicated 30 lines to remote instance/);
    expect(code).toBe(0);
    expect(remote.points("central", "cpu")).toHaveLength(30);
    expectNoTokens(edr.stdout(), edr.stderr());
  });

  it("exits at once on a second signal, and the next start delivers what was queued", async () => {
    await writeRecent();
    remote.faults.stall(100);
    const edr = startEdr(scheduleArgs(), env());
    await edr.waitFor(/Queued 30 lines from cpu/);
    edr.process.kill("SIGINT");
    await edr.waitFor(/SIGINT received/);
    edr.process.kill("SIGINT");
    const { code } = await edr.exited;
    expect(code).toBe(130);
    remote.faults.clear();
    const drain = await runEdr(["queue", "drain", "--trigger-arguments", triggerArguments()], env());
    expect(drain.code).toBe(0);
    expect(remote.points("central", "cpu").length).toBeGreaterThanOrEqual(30);
  });

  it("lets queue inspect read the queue it owns, and names it as the owner", async () => {
    await writeRecent();
    remote.faults.failAll({ status: 401 });
    const edr = startEdr(scheduleArgs(), env());
    try {
      await edr.waitFor(/halted: 401/);
      const inspect = await runEdr(["queue", "inspect", "--queue-dir", dir]);
      expect(inspect.code).toBe(0);
      expect(inspect.stdout).toMatch(new RegExp(`owner +pid ${edr.process.pid}\\n`));
      // Each run copies the whole hour again (the seed's window), so the queue holds 30 lines per run so far.
      const queued = Number(/queued +(\d+) lines, .* on disk, oldest \d+/.exec(inspect.stdout)?.[1]);
      expect(queued % 30 === 0 && queued >= 30).toBe(true);
      expect(inspect.stdout).toMatch(new RegExp(`per table +cpu ${queued}\n`));
      expect(inspect.stdout).toMatch(/watermarks +cpu 20\d\d-/);
      // A second edr on the same queue is refused with a clear line.
      const second = await runEdr(scheduleArgs(), env());
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/locked by .*another edr running/);
    } finally {
      edr.process.kill("SIGTERM");
      await edr.exited;
    }
  });
});
