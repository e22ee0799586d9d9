import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, inject, it, vi } from "vitest";

import {
  RealServerError,
  createInfluxDB1Database,
  readInfluxDB1Points,
  startInfluxDB1,
  startVictoriaMetrics,
  writeInfluxDB1,
  type RealServer,
} from "../src/index.js";
import type { StoredPoint } from "../src/stored-point.js";
import { setup as globalSetup } from "../src/vitest-global-setup.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/start-and-hold.ts", import.meta.url));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilDead(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid) || isZombie(pid)) return true;
    await sleep(20);
  }
  return false;
}

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** Local addresses of the TCP sockets `pid` listens on, read from /proc (no `ss` needed). */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  const addresses: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      const [, local, , state, , , , , , inode] = columns;
      if (state !== "0A" || inode === undefined || !inodes.has(inode) || local === undefined) continue;
      const [hex, port] = local.split(":") as [string, string];
      const ip =
        hex.length === 8
          ? (hex.match(/../g) ?? [])
              .reverse()
              .map((byte) => Number.parseInt(byte, 16))
              .join(".")
          : hex;
      addresses.push(`${ip}:${Number.parseInt(port, 16)}`);
    }
  }
  return addresses.sort();
}

async function runFixture(mode: "exit" | "wait"): Promise<{
  child: ReturnType<typeof spawn>;
  server: { pid: number; dir: string };
}> {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`fixture exited with ${String(code)} before printing`)));
  });
  return { child, server: JSON.parse(first) as { pid: number; dir: string } };
}

describe("startInfluxDB1", () => {
  const started: RealServer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
  });

  it("binds every listener to 127.0.0.1, answers /ping, and logs to a file in its temp dir", async () => {
    const server = await startInfluxDB1();
    started.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${server.url}/ping`)).status).toBe(204);
    const addresses = listeningAddresses(server.pid);
    // The HTTP API and the RPC (backup/restore) service, nothing else.
    expect(addresses).toHaveLength(2);
    for (const address of addresses) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(addresses).toContain(server.url.slice("http://".length));
    expect(server.logPath.startsWith(server.dir)).toBe(true);
    expect(readFileSync(server.logPath, "utf8")).toMatch(/Listening on HTTP/);
  });

  it("stops by PID, removes its temp dir, and stop() is idempotent", async () => {
    const server = await startInfluxDB1();
    expect(isAlive(server.pid)).toBe(true);
    await server.stop();
    expect(await waitUntilDead(server.pid)).toBe(true);
    expect(existsSync(server.dir)).toBe(false);
    await server.stop();
  });

  it("two servers run side by side on different ports with separate data", async () => {
    const [a, b] = await Promise.all([startInfluxDB1(), startInfluxDB1()]);
    started.push(a, b);
    expect(a.url).not.toBe(b.url);
    expect(a.dir).not.toBe(b.dir);
    await createInfluxDB1Database(a.url, "only_a");
    await writeInfluxDB1(a.url, "only_a", "m f=1 1");
    await createInfluxDB1Database(b.url, "only_a");
    expect(await readInfluxDB1Points(b.url, "only_a")).toEqual([]);
  });
});

describe("cleanup when the test runner ends", () => {
  it("kills the server and removes its dir when the runner exits normally", async () => {
    const { child, server } = await runFixture("exit");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(await waitUntilDead(server.pid)).toBe(true);
    expect(existsSync(server.dir)).toBe(false);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("kills the server and removes its dir on %s", async (signal) => {
    const { child, server } = await runFixture("wait");
    expect(isAlive(server.pid)).toBe(true);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, sig) => resolve(sig)),
    );
    child.kill(signal);
    // The default action still happens after the cleanup: the runner dies of the same signal.
    expect(await exited).toBe(signal);
    expect(await waitUntilDead(server.pid)).toBe(true);
    expect(existsSync(server.dir)).toBe(false);
  });

  it("on SIGKILL of the runner the kernel kills the server, and the next start removes the stale dir", async () => {
    const { child, server } = await runFixture("wait");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    expect(await waitUntilDead(server.pid)).toBe(true);
    expect(existsSync(server.dir)).toBe(true);
    const next = await startInfluxDB1();
    await next.stop();
    expect(existsSync(server.dir)).toBe(false);
  });
});

describe("start failures", () => {
  const scripts = mkdtempSync(join(tmpdir(), "edr-testkit-test-scripts-"));
  afterAll(() => rmSync(scripts, { recursive: true, force: true }));
  const script = (name: string, body: string): string => {
    const path = join(scripts, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return path;
  };

  it("reports a server that exits at once, with its own log tail", async () => {
    const binaryPath = script("dies", 'echo "boom: cannot open meta dir" >&2; exit 3');
    const error = await startInfluxDB1({ binaryPath, install: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RealServerError);
    expect((error as RealServerError).code).toBe("START_FAILED");
    expect((error as RealServerError).message).toMatch(/exited before it was ready \(exit code 3\)/);
    expect((error as RealServerError).message).toMatch(/boom: cannot open meta dir/);
  });

  it("gives up after the deadline, kills the process, and shows its log", async () => {
    const binaryPath = script("hangs", 'echo "still warming up"; exec sleep 60');
    const error = await startInfluxDB1({ binaryPath, install: false, readyTimeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect((error as RealServerError).code).toBe("NOT_READY");
    expect((error as RealServerError).message).toMatch(/did not answer within 300 ms[\s\S]*still warming up/);
  });

  it("runs apt-get for the package when the binary is missing, saying what and why", async () => {
    // The package is installed here, so apt-get has nothing to download; the binary path is not where the
    // package puts it, so the helper must notice that the install did not help.
    const lines: string[] = [];
    const binaryPath = join(scripts, "influxd-not-here");
    const error = await startInfluxDB1({ binaryPath, log: (line) => lines.push(line) }).catch(
      (e: unknown) => e,
    );
    expect(lines[0]).toBe(
      `[edr-testkit] installing the Debian package "influxdb" with apt-get ` +
        `(${binaryPath} is missing: the integration tests run a real influxdb on 127.0.0.1)`,
    );
    expect(lines).toContain("[edr-testkit] $ apt-get install -y --no-install-recommends influxdb");
    expect((error as RealServerError).code).toBe("INSTALL_FAILED");
    expect((error as RealServerError).message).toContain(`${binaryPath} is still missing`);
  });

  it("says what to run when the binary is missing and it is not root", async () => {
    vi.spyOn(process, "getuid").mockReturnValue(1000);
    try {
      const error = await startInfluxDB1({ binaryPath: join(scripts, "absent") }).catch((e: unknown) => e);
      expect((error as RealServerError).code).toBe("NOT_ROOT");
      expect((error as RealServerError).message).toContain("sudo apt-get install -y influxdb");
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe("readInfluxDB1Points", () => {
  const url = inject("influxdb1Url");

  it("reads back ints as bigint, floats to the bit (-0, subnormal, max), strings and tags exactly", async () => {
    await createInfluxDB1Database(url, "exact");
    const body = [
      "e\\ m,t\\,k=a\\ b\\=c,z=\u00e9\u6f22 f=-0,sub=5e-324,max=1.7976931348623157e308,tenth=0.1," +
        'big=9223372036854775807i,small=-9223372036854775808i,s="q\\"b\\\\\nn",yes=T,no=false 1700000000000000001',
      "e\\ m,t\\,k=x whole=100 -9223372036854775806",
    ].join("\n");
    expect(await writeInfluxDB1(url, "exact", body)).toEqual({ status: 204, body: "" });
    const expected: StoredPoint[] = [
      {
        measurement: "e m",
        tags: { "t,k": "a b=c", z: "\u00e9\u6f22" },
        fields: {
          f: { type: "float", value: -0 },
          sub: { type: "float", value: 5e-324 },
          max: { type: "float", value: 1.7976931348623157e308 },
          tenth: { type: "float", value: 0.1 },
          big: { type: "integer", value: 9223372036854775807n },
          small: { type: "integer", value: -9223372036854775808n },
          s: { type: "string", value: 'q"b\\\nn' },
          yes: { type: "boolean", value: true },
          no: { type: "boolean", value: false },
        },
        timeNs: 1700000000000000001n,
      },
      {
        measurement: "e m",
        tags: { "t,k": "x" },
        fields: { whole: { type: "float", value: 100 } },
        timeNs: -9223372036854775806n,
      },
    ];
    const points = await readInfluxDB1Points(url, "exact");
    expect(points).toHaveLength(2);
    expect(points).toEqual(expect.arrayContaining(expected));
    expect(Object.is((points.find((p) => p.fields["f"])?.fields["f"] as { value: number }).value, -0)).toBe(
      true,
    );
    expect(await readInfluxDB1Points(url, "exact", "e m")).toEqual(points);
    expect(await readInfluxDB1Points(url, "exact", "other")).toEqual([]);
  });

  it("fails with the server's error when the database does not exist", async () => {
    await expect(readInfluxDB1Points(url, "no_such_db", "m")).rejects.toThrow(
      /database not found: no_such_db/,
    );
  });
});

describe("startVictoriaMetrics", () => {
  it("accepts a v1 /write and returns the point from /api/v1/export", async () => {
    const url = inject("victoriaMetricsUrl");
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const write = await fetch(`${url}/write?db=smoke`, {
      method: "POST",
      body: "cpu,host=edge1 usage=1.5 1700000000123000000",
    });
    expect(write.status).toBe(204);
    // Samples sit in an in-memory buffer for about a second; force_flush makes them searchable now.
    expect((await fetch(`${url}/internal/force_flush`)).status).toBe(200);
    const query = new URLSearchParams({ "match[]": '{__name__="cpu_usage",db="smoke"}' });
    const exported = await (await fetch(`${url}/api/v1/export?${query.toString()}`)).text();
    expect(JSON.parse(exported)).toEqual({
      metric: { __name__: "cpu_usage", db: "smoke", host: "edge1" },
      values: [1.5],
      timestamps: [1700000000123],
    });
  });

  it("starts its own instance and stops it by PID, removing its dir", async () => {
    const server = await startVictoriaMetrics();
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    for (const address of listeningAddresses(server.pid)) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    await server.stop();
    expect(await waitUntilDead(server.pid)).toBe(true);
    expect(existsSync(server.dir)).toBe(false);
  });
});

describe("vitest global setup", () => {
  it("provides both URLs, and its teardown stops both servers", async () => {
    const provided = new Map<string, unknown>();
    const project = { provide: (key: string, value: unknown) => provided.set(key, value) };
    const teardown = await globalSetup(project as unknown as Parameters<typeof globalSetup>[0]);
    const influxdb1 = provided.get("influxdb1Url") as string;
    const victoriaMetrics = provided.get("victoriaMetricsUrl") as string;
    expect((await fetch(`${influxdb1}/ping`)).status).toBe(204);
    expect((await fetch(`${victoriaMetrics}/health`)).status).toBe(200);
    await teardown();
    await expect(fetch(`${influxdb1}/ping`)).rejects.toThrow();
    await expect(fetch(`${victoriaMetrics}/health`)).rejects.toThrow();
  });
});
