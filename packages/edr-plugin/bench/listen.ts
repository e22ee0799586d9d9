// The write-through endpoint's own cost: a few concurrent clients post gzipped 5,000-line bodies through
// `edr listen` (with an in-memory intake) to an edr-testkit server in its own process, beside the same
// clients posting straight to such a server (the baseline: what the local instance alone costs).
// One JSON line per figure, each the best of RUNS rounds (the machine is shared); a fresh local server per
// round, so its stored data does not grow from round to round. Run: `pnpm exec tsx bench/listen.ts`.
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { ReplicatorLogger } from "../src/logger.js";
import { createListenServer } from "../src/listen/listen-server.js";
import { FakeIntake } from "../test/listen-fake-intake.js";

const RUNS = Number(process.env.RUNS ?? 3);
const CLIENTS = Number(process.env.CLIENTS ?? 4);
const LINES_PER_BODY = Number(process.env.LINES_PER_BODY ?? 5_000);
const BODIES_PER_CLIENT = Number(process.env.BODIES_PER_CLIENT ?? 40);
const SERIES = 1000;
const TOKEN = "bench-token";

/** Quiet, but a warning or an error (the local unreachable, a write not queued) is worth seeing. */
const logger: ReplicatorLogger = {
  info: () => {},
  warn: (message) => process.stderr.write(`WARN ${message}\n`),
  error: (message) => process.stderr.write(`ERROR ${message}\n`),
};

function emit(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra }));
}

/** ~120-byte lines: 2 tags, 5 fields, 1,000 series; with ns timestamps, or none (edr stamps them). */
function makeBodies(client: number, timestamps: boolean): Buffer[] {
  const bodies: Buffer[] = [];
  for (let b = 0; b < BODIES_PER_CLIENT; b++) {
    const lines: string[] = [];
    for (let k = 0; k < LINES_PER_BODY; k++) {
      const i = (client * BODIES_PER_CLIENT + b) * LINES_PER_BODY + k;
      const s = i % SERIES;
      const time = timestamps ? ` ${1_700_000_000_000_000_000n + BigInt(i)}` : "";
      lines.push(
        `cpu,host=server-${String(s).padStart(4, "0")},region=eu-west-${s % 7} usage_user=${(i % 1000) / 8},usage_system=3.25,load=0.${i % 100},procs=${i}i,status="ok"${time}`,
      );
    }
    bodies.push(gzipSync(lines.join("\n"), { level: 1 }));
  }
  return bodies;
}

/** An edr-testkit server as its own process, as a real local instance would be. */
async function startLocal(): Promise<{ url: string; child: ChildProcess }> {
  const cli = fileURLToPath(new URL("../../edr-testkit/src/influxdb3-server/cli.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", cli, "--port", "0", "--token", TOKEN], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    lines.close();
    return { url: (JSON.parse(line) as { url: string }).url, child };
  }
  throw new Error("[edr-plugin bench] the local test server printed nothing");
}

async function stopLocal(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function post(agent: http.Agent, url: URL, path: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        path,
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-encoding": "gzip",
          "content-length": body.length,
        },
      },
      (res) => {
        const pieces: Buffer[] = [];
        res.on("data", (piece: Buffer) => pieces.push(piece));
        res.on("end", () =>
          res.statusCode === 204
            ? resolve()
            : reject(new Error(`status ${res.statusCode}: ${Buffer.concat(pieces).toString("utf8")}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Seconds for every client to post its bodies one after the other, all clients at once. */
async function postAll(url: string, bodies: readonly Buffer[][], precision: string): Promise<number> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const path = `/api/v3/write_lp?db=edge&precision=${precision}`;
  const started = performance.now();
  await Promise.all(
    bodies.map(async (own) => {
      for (const body of own) await post(agent, target, path, body);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
}

type Mode = "direct" | "proxy";

async function round(mode: Mode, bodies: readonly Buffer[][], precision: string): Promise<number> {
  const local = await startLocal();
  try {
    if (mode === "direct") return await postAll(local.url, bodies, precision);
    const intake = new FakeIntake(false);
    const listen = await createListenServer({
      localUrl: local.url,
      database: "edge",
      intake,
      port: 0,
      logger,
    });
    try {
      const seconds = await postAll(listen.url, bodies, precision);
      const expected = CLIENTS * BODIES_PER_CLIENT * LINES_PER_BODY;
      if (intake.count !== expected) throw new Error(`queued ${intake.count} lines, expected ${expected}`);
      return seconds;
    } finally {
      await listen.close();
    }
  } finally {
    await stopLocal(local.child);
  }
}

async function best(mode: Mode, bodies: readonly Buffer[][], precision: string): Promise<number> {
  let fastest = Infinity;
  for (let r = 0; r < RUNS; r++) fastest = Math.min(fastest, await round(mode, bodies, precision));
  return (CLIENTS * BODIES_PER_CLIENT * LINES_PER_BODY) / fastest;
}

const timed = Array.from({ length: CLIENTS }, (_, c) => makeBodies(c, true));
const untimed = Array.from({ length: CLIENTS }, (_, c) => makeBodies(c, false));
const setup = {
  clients: CLIENTS,
  lines_per_body: LINES_PER_BODY,
  lines: CLIENTS * BODIES_PER_CLIENT * LINES_PER_BODY,
};
// A warm-up round each way, not counted.
await round("direct", timed, "nanosecond");
await round("proxy", timed, "nanosecond");
const direct = await best("direct", timed, "nanosecond");
emit("plugin.listen_direct_lines_per_s", direct, "lines/s", setup);
const proxy = await best("proxy", timed, "nanosecond");
emit("plugin.listen_proxy_lines_per_s", proxy, "lines/s", {
  ...setup,
  of_direct: Math.round((proxy / direct) * 100) / 100,
});
// Lines without timestamps: stamped, so the body is rebuilt and sent as plain text.
const stamped = await best("proxy", untimed, "nanosecond");
emit("plugin.listen_proxy_stamped_lines_per_s", stamped, "lines/s", {
  ...setup,
  of_direct: Math.round((stamped / direct) * 100) / 100,
});
