// `edr listen` as the README starts it, between two edr-testkit servers standing in for the local and the
// remote InfluxDB 3; clients write through it as the README shows: the JS client, curl, Telegraf.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writePoints } from "../src/write-points.js";
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

const REMOTE_TOKEN = "write-through-remote-secret-6604";
const LOCAL_TOKEN = "write-through-local-secret-3117";
const NS_PER_MS = 1_000_000n;

let readme: string;
let local: InfluxDB3TestServer;
let remote: InfluxDB3TestServer;
let edr: EdrChild;
let edrUrl: string;
let dir = "";
const printed: string[] = [];

interface Status {
  state: string;
  lines: { accepted: number; delivered: number; queued: number; deadLettered: number };
  intake?: { entries: number };
}

beforeAll(async () => {
  readme = await readFile(join(import.meta.dirname, "..", "README.md"), "utf8");
  local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  remote = await startInfluxDB3Server({ token: REMOTE_TOKEN });
  dir = await mkdtemp(join(tmpdir(), "edr-example-write-through-"));
  // The README's command, pointed at the test servers, on a free port, with its queue in a temp directory.
  const command = findCommand(readme, "npx edr listen")
    .replace("http://127.0.0.1:8181", local.url)
    .replace("https://central:8181", remote.url);
  const words = shellWords(command);
  expect(flagValue(words, "--local-db")).toBe("mydb");
  edr = startEdr(EDR, [...words.slice(2), "--listen", "127.0.0.1:0", "--queue-dir", dir], {
    EDR_REMOTE_TOKEN: REMOTE_TOKEN,
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

async function status(): Promise<Status> {
  return (await (await fetch(`${edrUrl}/status`)).json()) as Status;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${edr.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the remote holds `table` as the local instance does, and checks they are the same points. */
async function expectReplicated(table: string, count: number): Promise<void> {
  expect(local.points("mydb", table)).toHaveLength(count);
  await until(`the remote holds ${count} points of ${table}`, () => {
    return remote.points("replica", table).length === count;
  });
  expect(remote.points("replica", table)).toEqual(local.points("mydb", table));
}

describe("edr listen in front of the local instance", () => {
  it("replicates what @influxdata/influxdb3-client writes through it (v2 write, and v3 write_lp with noSync)", async () => {
    const timeNs = BigInt(Date.now()) * NS_PER_MS;
    await writePoints({ host: edrUrl, token: LOCAL_TOKEN, database: "mydb" }, timeNs);
    const paths = local.requests.map((r) => `${r.path}?${new URLSearchParams(r.query).toString()}`);
    expect(paths).toEqual([
      "/api/v2/write?bucket=mydb&precision=ns",
      expect.stringMatching(/^\/api\/v3\/write_lp\?db=mydb&precision=nanosecond&no_sync=true/),
    ]);
    await expectReplicated("cpu", 2);
    await expectReplicated("mem", 1);
    expect(remote.points("replica", "cpu")[1]!.fields).toEqual({
      usage: { type: "float", value: 21 },
      cores: { type: "integer", value: 8n },
    });
  });

  it("replicates the README's curl write, stamped once so both copies carry the same time", async () => {
    const command = findCommand(readme, "curl -H").replace("http://127.0.0.1:8182", edrUrl);
    const words = shellWords(command, { INFLUX_TOKEN: LOCAL_TOKEN });
    let code: string;
    try {
      const { stdout } = await promisify(execFile)("curl", [
        ...words.slice(1),
        "--silent",
        "--show-error",
        "--write-out",
        "%{http_code}",
      ]);
      code = stdout;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      // No curl here: the same request.
      const response = await fetch(words.at(-1)!, {
        method: "POST",
        headers: { authorization: flagValue(words, "-H").replace(/^Authorization: /, "") },
        body: flagValue(words, "--data-binary"),
      });
      code = String(response.status);
    }
    expect(code).toBe("204");
    await expectReplicated("cpu", 3);
    const stamped = remote.points("replica", "cpu")[2]!;
    expect(stamped.tags).toEqual({ host: "edge1" });
    expect(stamped.fields).toEqual({ usage: { type: "float", value: 1.5 } });
    // precision=second: a whole second, in ns at the remote.
    expect(stamped.timeNs % 1_000_000_000n).toBe(0n);
  });

  it("takes Telegraf's writes as its influxdb_v3 and influxdb_v2 outputs send them; tables= keeps disk local", async () => {
    const timeNs = (BigInt(Date.now()) + 1000n) * NS_PER_MS;
    const body = (host: string) =>
      gzipSync(
        `cpu,host=${host} usage=3.5 ${timeNs}\nmem,host=${host} used=7i ${timeNs}\ndisk,host=${host} free=1i ${timeNs}\n`,
      );
    const telegraf = { "content-encoding": "gzip", "content-type": "text/plain; charset=utf-8" };
    // [[outputs.influxdb_v3]]: POST /api/v3/write_lp?db=…, Bearer, no precision (InfluxDB 3 guesses ns).
    const v3 = await fetch(`${edrUrl}/api/v3/write_lp?db=mydb`, {
      method: "POST",
      headers: { ...telegraf, authorization: `Bearer ${LOCAL_TOKEN}`, "user-agent": "Telegraf/1.38.0" },
      body: body("telegraf3"),
    });
    expect(v3.status).toBe(204);
    // [[outputs.influxdb_v2]]: POST /api/v2/write?bucket=…&org=, Token.
    const v2 = await fetch(`${edrUrl}/api/v2/write?bucket=mydb&org=`, {
      method: "POST",
      headers: { ...telegraf, authorization: `Token ${LOCAL_TOKEN}`, "user-agent": "Telegraf/1.37.0" },
      body: body("telegraf2"),
    });
    expect(v2.status).toBe(204);
    await expectReplicated("cpu", 5);
    await expectReplicated("mem", 3);
    expect(local.points("mydb", "disk")).toHaveLength(2);
    expect(remote.points("replica", "disk")).toEqual([]);
  });

  it("hands back the local instance's refusal unchanged and queues nothing of it", async () => {
    const before = (await status()).lines.accepted;
    // usage is a float column: a string there is refused, and v2 refuses the whole batch.
    const write = (url: string) =>
      fetch(`${url}/api/v2/write?bucket=mydb`, {
        method: "POST",
        headers: { authorization: `Token ${LOCAL_TOKEN}` },
        body: `cpu,host=edge1 usage="high" 1700000000000000000`,
      });
    const refused = await write(edrUrl);
    const direct = await write(local.url);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toBe(await direct.text());
    await new Promise((resolve) => setTimeout(resolve, 1200)); // one flush interval
    expect((await status()).lines.accepted).toBe(before);
    expect(local.points("mydb", "cpu")).toHaveLength(5);
  });

  it("says healthy in edr status with every line delivered, stops on SIGTERM, and never shows a token", async () => {
    await until("every accepted line delivered", async () => {
      const now = await status();
      return now.lines.queued === 0 && now.lines.delivered === now.lines.accepted;
    });
    const shown = await status();
    // cpu 2 + mem 1 (client), cpu 1 (curl), cpu 2 + mem 2 (Telegraf); disk is not replicated.
    expect(shown).toMatchObject({ state: "healthy", lines: { accepted: 8, delivered: 8, deadLettered: 0 } });
    const printedStatus = await runEdr(EDR, ["status", "--url", edrUrl]);
    expect(printedStatus.stdout).toMatch(/^edr listen at .*: healthy$/m);
    expect(printedStatus.code).toBe(0);
    const metrics = await (await fetch(`${edrUrl}/metrics`)).text();
    expect(metrics).toMatch(/^edr_lines_delivered_total 8$/m);

    expect(await edr.stop()).toBe(0);
    printed.push(edr.stdout(), edr.stderr(), printedStatus.stdout, printedStatus.stderr);
    printed.push(JSON.stringify(shown), metrics);
    for (const text of printed) {
      expect(text).not.toContain(REMOTE_TOKEN);
      expect(text).not.toContain(LOCAL_TOKEN);
    }
  });
});
