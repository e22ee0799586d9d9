// On-write replication end to end, as a user runs it: CLIENTS clients (default 4) each post BODIES
// gzipped bodies of LINES lines (default 15 x 10,000: 600,000 lines of 100–150 bytes over five tables, one
// body in five without timestamps; onwrite-data.ts) at once, one body after another per client, to
// `edr listen` run as its own process (the real command from source, edr-process.ts): it forwards each
// write to the local edr-testkit server, appends the stored lines to its durable intake (fsync "always")
// before answering, flushes the intake to the durable queue every second and drains the queue to the remote
// edr-testkit server. The two servers run in processes of their own (server-process.ts), as real InfluxDBs
// would, so on this 2-core machine four processes share the cores while edr is delivering.
//
// Two times of each run, from the first write:
// - acknowledged: every client has its 204 (every line stored locally and durable in edr's intake);
// - delivered: edr's `/status` says the remote holds every line (delivered = sent, nothing queued or in the
//   intake), polled every POLL_MS once the writes are acknowledged (no polling while they run).
// Beside them the floor: the same clients posting the same bodies straight to the local server.
//
// Figures (each time the best of RUNS runs, default 2, the kinds taking turns; the machine is shared):
// - plugin.onwrite_lines_per_s: lines / delivered time, through the real `edr listen`;
// - plugin.onwrite_acked_lines_per_s: lines / acknowledged time, the clients' view;
// - plugin.onwrite_direct_lines_per_s: the floor, straight to the local server;
// - plugin.onwrite_proxy_time_ratio: acknowledged time through edr / direct time. The issue's target, "the
//   proxy adding under 1.5x to the direct write's time", is about this one: what a client waits for;
// - plugin.onwrite_delivered_time_ratio: delivered time / direct time (includes the flush interval and
//   the delivery, which the clients do not wait for);
// - plugin.onwrite_listen_vmhwm_mb: the peak RSS (VmHWM) of the `edr listen` process over its runs;
// - plugin.onwrite_durable_cost: delivered lines/s with the queues' fsync "never" over "always". `edr listen`
//   has no flag for fsync, so both sides run onwrite-child.ts, the command's composition with the option,
//   in a process of its own like the command (plugin.onwrite_child_lines_per_s is its "always" figure, to set
//   beside the command's); plugin.onwrite_acked_durable_cost is the same ratio on acknowledged times.
// The end-to-end issue names the same two measurements `e2e.onwrite_lines_per_s` and
// `e2e.onwrite_durable_cost`: both already run from the clients' first write to the remote holding every
// line, so they are printed again under those names, with the same values (not measured twice).
//
// The local test server answers a write as soon as it has stored it (about 1M lines/s here), where a real
// InfluxDB 3 answers after its WAL flush, about a second: the direct time is then far shorter than a real
// one and the proxy's share of it far larger. EDR_BENCH_ONWRITE_WAL_MS=1000 gives the local server that
// delay (edr-testkit `writeDelayMs`), to read the ratio against a local instance that behaves so.
//
// Settings (environment): EDR_BENCH_ONWRITE_RUNS (2), EDR_BENCH_ONWRITE_CLIENTS (4), EDR_BENCH_ONWRITE_BODIES
// (15 per client), EDR_BENCH_ONWRITE_LINES (10,000 per body), EDR_BENCH_ONWRITE_WAL_MS (0);
// EDR_BENCH_VERIFY=1 also checks, once, that the remote server stores every point written (its first read
// parses them: slow). Experiments: EDR_BENCH_ONWRITE_KINDS picks the runs (default
// direct,cli,child-always,child-never; also child-single-queue, see onwrite-child.ts), each logged on stderr;
// the figures of runs left out are not printed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emit } from "./emit.js";
import { startListen, undelivered, type ListenKind } from "./edr-process.js";
import { postAll } from "./onwrite-clients.js";
import {
  averageLineBytes,
  benchBodies,
  benchPoints,
  LOCAL_TOKEN,
  REMOTE_DB,
  REMOTE_TOKEN,
} from "./onwrite-data.js";
import { startServerProcess, type ServerProcess } from "./server-client.js";

const RUNS = Number(process.env.EDR_BENCH_ONWRITE_RUNS ?? 2);
const CLIENTS = Number(process.env.EDR_BENCH_ONWRITE_CLIENTS ?? 4);
const BODIES = Number(process.env.EDR_BENCH_ONWRITE_BODIES ?? 15);
const LINES = Number(process.env.EDR_BENCH_ONWRITE_LINES ?? 10_000);
const VERIFY = process.env.EDR_BENCH_VERIFY === "1";
/** The local server's answer delay for writes, ms (its model of InfluxDB 3's WAL flush); 0 by default. */
const LOCAL_WRITE_DELAY_MS = Number(process.env.EDR_BENCH_ONWRITE_WAL_MS ?? 0);
/** Which runs take turns: the floor, the command, the child at both fsync policies (and experiments). */
const KINDS = (process.env.EDR_BENCH_ONWRITE_KINDS ?? "direct,cli,child-always,child-never").split(",") as (
  ListenKind | "direct"
)[];
const TOTAL = CLIENTS * BODIES * LINES;
const POLL_MS = 20;
/** Longest wait for the remote to hold everything once the writes are acknowledged. */
const DELIVERY_TIMEOUT_MS = 120_000;

/** Seconds from the first write: every write answered, and (through edr) every line delivered. */
interface Times {
  acked: number;
  delivered: number;
  /** Through edr: the peak RSS (VmHWM) of its process at the end of the run, MB. */
  hwmMb?: number;
}

function log(message: string): void {
  process.stderr.write(`[onwrite] ${message}\n`);
}

async function runDirect(local: ServerProcess, bodies: readonly Buffer[][]): Promise<Times> {
  await local.call({ op: "reset" });
  const seconds = await postAll(local.url, bodies);
  return { acked: seconds, delivered: seconds };
}

async function runThroughEdr(
  kind: ListenKind,
  local: ServerProcess,
  remote: ServerProcess,
  bodies: readonly Buffer[][],
  verify: boolean,
): Promise<Times> {
  await Promise.all([local.call({ op: "reset" }), remote.call({ op: "reset" })]);
  const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-onwrite-"));
  const edr = await startListen(kind, local.url, remote.url, dir);
  try {
    const started = performance.now();
    const acked = await postAll(edr.url, bodies);
    for (;;) {
      const status = await edr.status();
      if (status.lines.delivered >= TOTAL && undelivered(status) === 0) {
        const delivered = (performance.now() - started) / 1000;
        const { accepted, deadLettered, refused, dropped } = status.lines;
        // The single-queue experiment bypasses the books of accepted lines (onwrite-child.ts).
        const acceptedRight = kind === "child-single-queue" || accepted === TOTAL;
        if (!acceptedRight || status.lines.delivered !== TOTAL || deadLettered + refused + dropped > 0)
          throw new Error(`${kind}: lines do not add up: ${JSON.stringify(status.lines)}`);
        if (verify) {
          const stored = await remote.call({ op: "points", db: REMOTE_DB });
          const expected = benchPoints(CLIENTS, BODIES, LINES);
          if (stored !== expected)
            throw new Error(`the remote stores ${String(stored)} points, expected ${expected}`);
          log(`the remote stores the ${expected} points written`);
        }
        return { acked, delivered, hwmMb: await edr.hwmMb() };
      }
      if (performance.now() - started > acked * 1000 + DELIVERY_TIMEOUT_MS)
        throw new Error(`${kind}: not delivered in time: ${JSON.stringify(status.lines)}\n${edr.log()}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await edr.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Prints the on-write figures (see the top of this file). */
export async function runOnwriteBench(): Promise<void> {
  const bodies = benchBodies(CLIENTS, BODIES, LINES);
  const wire = bodies.flat().reduce((sum, body) => sum + body.length, 0);
  log(
    `${TOTAL} lines, ${averageLineBytes().toFixed(0)} bytes a line on average, ${(wire / 2 ** 20).toFixed(1)} MiB gzipped, ` +
      `${CLIENTS} clients x ${BODIES} bodies x ${LINES} lines`,
  );
  const [local, remote] = await Promise.all([
    startServerProcess(LOCAL_TOKEN, false, LOCAL_WRITE_DELAY_MS),
    startServerProcess(REMOTE_TOKEN, false),
  ]);
  try {
    await runDirect(local, bodies); // warms the local server; not counted
    const kinds = KINDS;
    const best: Record<string, Times> = Object.fromEntries(
      ["direct", "cli", "child-always", "child-never", ...kinds].map((kind) => [
        kind,
        { acked: Infinity, delivered: Infinity },
      ]),
    );
    const peakMb: Record<string, number> = {};
    for (let run = 0; run < RUNS; run++) {
      for (const kind of kinds) {
        const times =
          kind === "direct"
            ? await runDirect(local, bodies)
            : await runThroughEdr(kind, local, remote, bodies, VERIFY && run === 0 && kind === "cli");
        log(
          `run ${run + 1} ${kind}: acknowledged ${times.acked.toFixed(2)} s` +
            (kind === "direct" ? "" : `, delivered ${times.delivered.toFixed(2)} s`),
        );
        best[kind]!.acked = Math.min(best[kind]!.acked, times.acked);
        best[kind]!.delivered = Math.min(best[kind]!.delivered, times.delivered);
        if (times.hwmMb !== undefined) peakMb[kind] = Math.max(peakMb[kind] ?? 0, times.hwmMb);
      }
    }
    const rate = (seconds: number) => TOTAL / seconds;
    const ran = (kind: string) => Number.isFinite(best[kind]!.acked);
    const { direct, cli } = { direct: best.direct!, cli: best.cli! };
    const always = best["child-always"]!;
    const never = best["child-never"]!;
    emit("plugin.onwrite_lines", TOTAL, "lines");
    if (ran("cli")) {
      emit("plugin.onwrite_lines_per_s", rate(cli.delivered), "lines/s");
      emit("plugin.onwrite_acked_lines_per_s", rate(cli.acked), "lines/s");
    }
    if (ran("direct")) emit("plugin.onwrite_direct_lines_per_s", rate(direct.acked), "lines/s");
    if (peakMb.cli !== undefined) emit("plugin.onwrite_listen_vmhwm_mb", peakMb.cli, "MB");
    if (ran("cli") && ran("direct")) {
      emit("plugin.onwrite_proxy_time_ratio", cli.acked / direct.acked, "x");
      emit("plugin.onwrite_delivered_time_ratio", cli.delivered / direct.acked, "x");
    }
    if (ran("child-always")) emit("plugin.onwrite_child_lines_per_s", rate(always.delivered), "lines/s");
    if (ran("child-never")) emit("plugin.onwrite_fsync_never_lines_per_s", rate(never.delivered), "lines/s");
    if (ran("child-always") && ran("child-never")) {
      emit("plugin.onwrite_durable_cost", always.delivered / never.delivered, "x");
      emit("plugin.onwrite_acked_durable_cost", always.acked / never.acked, "x");
    }
    // The same measurements under the end-to-end issue's names (see the top of this file).
    if (ran("cli")) emit("e2e.onwrite_lines_per_s", rate(cli.delivered), "lines/s");
    if (ran("child-always") && ran("child-never"))
      emit("e2e.onwrite_durable_cost", always.delivered / never.delivered, "x");
  } finally {
    await Promise.allSettled([local.close(), remote.close()]);
  }
}
