// The pipeline program run as a user runs it (`tsx src/main.ts settings.json readings.lp`), with the example
// settings pointed at two edr-testkit servers standing in for the remotes, over the sample readings.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectQueue } from "edr-queue";
import { startInfluxDB3Server, type InfluxDB3TestServer, type StoredPoint } from "edr-testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const EXAMPLE = join(import.meta.dirname, "..");
const CENTRAL_TOKEN = "pipeline-central-secret-5150";
const BACKUP_TOKEN = "pipeline-backup-secret-8086";
const T0 = 1_767_225_600n; // 2026-01-01T00:00:00Z, where sample/readings.lp starts
const S = 1_000_000_000n;

let central: InfluxDB3TestServer;
let backup: InfluxDB3TestServer;
let dir: string;
const dirs: string[] = [];
const printed: string[] = [];

beforeAll(async () => {
  central = await startInfluxDB3Server({ token: CENTRAL_TOKEN });
  backup = await startInfluxDB3Server({ token: BACKUP_TOKEN });
});
afterAll(async () => {
  await Promise.all([central.close(), backup.close()]);
  await Promise.all(dirs.map((path) => rm(path, { recursive: true, force: true })));
  for (const text of printed) {
    expect(text).not.toContain(CENTRAL_TOKEN);
    expect(text).not.toContain(BACKUP_TOKEN);
  }
});
beforeEach(async () => {
  central.reset();
  backup.reset();
  dir = await mkdtemp(join(tmpdir(), "edr-example-pipeline-"));
  dirs.push(dir);
});

/** The example settings, pointed at the test servers, queues in the test's directory. */
async function writeSettings(change: (settings: Record<string, unknown>) => void = () => {}) {
  const settings = JSON.parse(await readFile(join(EXAMPLE, "pipeline.example.json"), "utf8")) as {
    remotes: Record<string, unknown>[];
  } & Record<string, unknown>;
  settings["queueDir"] = join(dir, "queues");
  settings.remotes[0]!["url"] = central.url;
  settings.remotes[1]!["url"] = backup.url;
  change(settings);
  const path = join(dir, "pipeline.json");
  await writeFile(path, JSON.stringify(settings));
  return path;
}

/** Runs `tsx src/main.ts …` in the example's directory with the tokens in the environment. */
function runPipeline(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: EXAMPLE,
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env["PATH"] ?? "", CENTRAL_TOKEN, BACKUP_TOKEN },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      printed.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    }),
  );
}

const point = (measurement: string, host: string, minute: bigint, fields: StoredPoint["fields"]) => ({
  measurement,
  tags: { host, site: "berlin" },
  fields,
  timeNs: (T0 + minute * 60n) * S,
});

/**
 * sample/readings.lp, worked out by hand: per minute, s1 reads 20, 20.5, 21, 21.5 (avg 20.75) and s2 18,
 * 18.25, 18.5, 18.75 (avg 18.375); the humidity sensor twice a minute, rh 40…45 (max per minute, as the
 * settings say) and its status string (last: "dry" from minute 2).
 */
const EXPECTED: StoredPoint[] = [
  ...[0n, 1n, 2n].flatMap((m) => [
    point("sensor_temp", "s1", m, { temp: { type: "float", value: 20.75 } }),
    point("sensor_temp", "s2", m, { temp: { type: "float", value: 18.375 } }),
  ]),
  ...[0n, 1n, 2n].map((m) =>
    point("sensor_hum", "s1", m, {
      rh: { type: "float", value: 41 + 2 * Number(m) },
      status: { type: "string", value: m === 2n ? "dry" : "ok" },
    }),
  ),
];

function stored(server: InfluxDB3TestServer): StoredPoint[] {
  const key = (p: StoredPoint) => `${p.measurement} ${p.tags["host"]} ${p.timeNs}`;
  return server.points("replica").sort((a, b) => key(a).localeCompare(key(b)));
}
const sortedExpected = () =>
  [...EXPECTED].sort((a, b) =>
    `${a.measurement} ${a.tags.host} ${a.timeNs}`.localeCompare(
      `${b.measurement} ${b.tags.host} ${b.timeNs}`,
    ),
  );

async function queued(name: string): Promise<number> {
  return (await inspectQueue({ dir: join(dir, "queues"), name: `remote_${name}` })).entries;
}

describe("the custom pipeline", () => {
  it("delivers the kept, tagged, downsampled points to both remotes and leaves both queues empty", async () => {
    const result = await runPipeline([await writeSettings(), "sample/readings.lp"]);
    expect(result.stdout.split("\n")).toEqual([
      "read 43 lines: 1 invalid, 12 of other tables, 30 downsampled into 9 points",
      expect.stringMatching(
        /^ {2}invalid: sample\/readings\.lp: .*line 8, column 26: expected a field value/,
      ),
      "central: queued 9, delivered 9, dead-lettered 0; queue empty",
      "backup: queued 9, delivered 9, dead-lettered 0; queue empty",
      "",
    ]);
    expect(result.code).toBe(0);
    expect(stored(central)).toEqual(sortedExpected());
    expect(stored(backup)).toEqual(sortedExpected());
    expect(await queued("central")).toBe(0);
    expect(await queued("backup")).toBe(0);
  });

  it("keeps a remote that is down queued on disk without holding up the other, and sends it on the next run", async () => {
    backup.faults.failAll({ status: 503, retryAfter: 1 });
    const settings = await writeSettings((s) => {
      s["deliverTimeout"] = "3s";
      (s["remotes"] as Record<string, unknown>[])[1]!["maxRetries"] = 0;
    });
    const first = await runPipeline([settings, "sample/readings.lp"]);
    expect(first.stdout).toMatch(/^central: queued 9, delivered 9, dead-lettered 0; queue empty$/m);
    expect(first.stdout).toMatch(/^backup: queued 9, delivered 0, dead-lettered 0; 9 left queued: .*503/m);
    expect(first.code).toBe(1);
    expect(stored(central)).toEqual(sortedExpected());
    expect(backup.points("replica")).toEqual([]);
    expect(await queued("backup")).toBe(9);

    // The remote is back: a run without input sends what was left, and nothing again to the other remote.
    backup.faults.clear();
    const centralRequests = central.requests.length;
    const second = await runPipeline([settings]);
    expect(second.stdout).toMatch(/^central: queued 0, delivered 0, dead-lettered 0; queue empty$/m);
    expect(second.stdout).toMatch(/^backup: queued 0, delivered 9, dead-lettered 0; queue empty$/m);
    expect(second.code).toBe(0);
    expect(stored(backup)).toEqual(sortedExpected());
    expect(central.requests.length).toBe(centralRequests);
    expect(await queued("backup")).toBe(0);
  });

  it("lists every problem of bad settings at once and exits 2", async () => {
    const settings = await writeSettings((s) => {
      s["interval"] = "1x";
      s["aggregations"] = { default: "mean" };
      (s["remotes"] as Record<string, unknown>[])[1]!["name"] = "central";
    });
    const result = await runPipeline([settings, "sample/readings.lp"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/interval: expected <number><unit>/);
    expect(result.stderr).toMatch(/aggregations\.default: expected one of avg, /);
    expect(result.stderr).toMatch(/remotes\[1\]\.name: "central" names two remotes/);
  });
});
