// Scheduled replication end to end: `createReplicator(config).processScheduledCall(callTime)` copying a
// window of EDR_BENCH_HOURS hours (default 3: 1,080,000 rows in three one-hour chunks) of a realistic table
// (scheduled-data.ts) from a local edr-testkit server over the SQL reader to a remote edr-testkit server,
// durable queue on (fsync "always"), no downsampling. Beside it, in the same run, the pieces alone on the
// same rows, so the ratios say where the time goes:
// - read: the SQL reader draining the same ranges, rows discarded (HTTP, JSON lines, row objects);
// - convert: rows to line protocol and the transform (edr-transform), timed chunk by chunk during a read;
// - queue: appending the same lines durably in the call's 10,000-line chunks, then reading and acknowledging
//   them as the delivery does (edr-queue);
// - sink: writing the same lines to the remote as the delivery does, 10,000-line calls, as many unanswered
//   as the replicator allows (edr-sink and the remote's write path);
// - stage sum: the four added up. The replicator runs them one after another on one thread, overlapping
//   only waits (fsync, the servers' work in their own processes), so the figure is close to that sum.
// Each is the best of EDR_BENCH_RUNS runs (default 3), figure and pieces taking turns (the machine is
// shared).
//
// The servers run in processes of their own (server-process.ts), as a real InfluxDB would. The local one is
// filled and its points parsed before anything is timed, and its `query_sql` answers are replayed: the
// test server builds each answer whole before sending it, at about 100k rows/s (an hour of this table,
// 360,000 rows, takes it 2.5–3.5 s to start answering), which would make every figure here the test
// server's speed.
// The answers replayed are the test server's own bytes, recorded by a first read; the scheduled call straight
// to the test server, and that first read, are printed once as `plugin.scheduled_testkit_direct_*`.
//
// e2e.scheduled_rows_per_s: the same call made by the `edr schedule --once` command as a user's install runs it
// (packed, installed with npm, plain node; installed-edr.ts), timed from its start to its exit, start-up
// included; beside it the read alone (e2e.scheduled_over_read_time_ratio).
//
// Memory: one more scheduled call in a child process (scheduled-child.ts) whose RSS is sampled every 100 ms:
// `plugin.scheduled_peak_rss_mb`. It should not grow with the window: compare EDR_BENCH_HOURS=3 and 9.
//
// Settings (environment): EDR_BENCH_HOURS (3), EDR_BENCH_RUNS (3); EDR_BENCH_DIRECT=0 skips the call straight
// to the test server (about 30 s); EDR_BENCH_VERIFY=1 checks once that the remote holds every row (its first
// read parses them: about 10 s a million); EDR_BENCH_PROFILE=<dir> runs the memory child with `--cpu-prof`,
// leaving a CPU profile of one scheduled call (and the child's start) in <dir>; its memory figures then
// include the profiler's.
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createQueue } from "edr-queue";
import { createSink, type WriteResult } from "edr-sink";
import { createRowConverter, createTransform } from "edr-transform";
import { silentLogger } from "../src/logger.js";
import { createSqlReader } from "../src/readers/sql-reader.js";
import { createReplicator } from "../src/replicator.js";
import { DEFAULT_CHUNK_NS, planRanges } from "../src/windows.js";
import { startEdr } from "./edr-process.js";
import { emit } from "./emit.js";
import { installedEdrBin } from "./installed-edr.js";
import type { MemoryReport } from "./scheduled-child.js";
import {
  benchCallTime,
  benchConfig,
  LOCAL_DB,
  LOCAL_TOKEN,
  REMOTE_DB,
  REMOTE_TOKEN,
  rowCount,
  TABLE,
} from "./scheduled-data.js";
import { startServerProcess, type ServerProcess } from "./server-client.js";

const HOURS = Number(process.env.EDR_BENCH_HOURS ?? 3);
const RUNS = Number(process.env.EDR_BENCH_RUNS ?? 3);
const VERIFY = process.env.EDR_BENCH_VERIFY === "1";
const ROWS = rowCount(HOURS);
/** The replicator's chunk: rows per read batch, and so lines per queue append. */
const CHUNK_ROWS = 10_000;
/** The delivery's queue read: entries per read (and per `sink.write` call), bytes per read. */
const READ_ENTRIES = 10_000;
const READ_BYTES = 4 * 1024 * 1024;
const MS = 1_000_000n;
const PROFILE_DIR = process.env.EDR_BENCH_PROFILE;
const DIRECT = process.env.EDR_BENCH_DIRECT !== "0";

/** The bench's config; only the parts that do not depend on the URLs and the queue dir are used as is. */
const CONFIG = benchConfig("http://127.0.0.1:1", "http://127.0.0.1:1", tmpdir(), HOURS);
const RANGES = planRanges({
  endNs: BigInt(benchCallTime(HOURS).getTime()) * MS,
  windowNs: BigInt(CONFIG.windowMs) * MS,
  watermarkNs: undefined,
  catchUp: false,
  chunkNs: DEFAULT_CHUNK_NS,
});

// A full collection before each timed pass, so that no pass pays for the garbage of the one before it.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Seconds of one scheduled call over the whole window, into a fresh queue dir (removed after). */
async function timeScheduled(localUrl: string, remote: ServerProcess, verify = false): Promise<number> {
  await remote.call({ op: "reset" });
  const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-"));
  try {
    const config = benchConfig(localUrl, remote.url, dir, HOURS);
    const replicator = await createReplicator(config, { logger: silentLogger });
    try {
      collectGarbage();
      const started = performance.now();
      const report = await replicator.processScheduledCall(benchCallTime(HOURS));
      const seconds = (performance.now() - started) / 1000;
      if (
        report.errors.length > 0 ||
        report.queued !== ROWS ||
        report.replicated !== ROWS ||
        report.refused !== 0 ||
        report.queuedAfter !== 0
      ) {
        throw new Error(`the scheduled call did not replicate every row: ${JSON.stringify(report, bigints)}`);
      }
      if (verify) {
        const stored = await remote.call({ op: "points", db: REMOTE_DB });
        if (stored !== ROWS) throw new Error(`the remote holds ${String(stored)} points, expected ${ROWS}`);
      }
      return seconds;
    } finally {
      await replicator.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * Seconds of `edr schedule --once` over the whole window, the command as installed (installed-edr.ts) in a
 * child process, from its start to its exit (start-up included), into a fresh queue dir.
 */
async function timeCommand(localUrl: string, remote: ServerProcess, bin: string): Promise<number> {
  await remote.call({ op: "reset" });
  const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-"));
  try {
    const started = performance.now();
    const edr = startEdr(
      [
        "schedule",
        "--once",
        "--call-time",
        benchCallTime(HOURS).toISOString(),
        "--trigger-arguments",
        `host=${remote.url},database=${REMOTE_DB},local_host=${localUrl},local_database=${LOCAL_DB},` +
          `queue_dir=${dir},window=${HOURS}h`,
      ],
      undefined,
      bin,
      { EDR_LOCAL_TOKEN: LOCAL_TOKEN },
    );
    const { code } = await edr.exited;
    const seconds = (performance.now() - started) / 1000;
    const stored = await remote.call({ op: "points", db: REMOTE_DB });
    if (code !== 0 || stored !== ROWS) {
      throw new Error(
        `edr schedule --once exited ${code}, the remote holds ${String(stored)} of ${ROWS}:\n${edr.log()}`,
      );
    }
    return seconds;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Seconds for the SQL reader to drain the window's ranges, rows discarded. */
async function timeRead(localUrl: string): Promise<number> {
  const reader = createSqlReader({ url: localUrl, database: LOCAL_DB, token: LOCAL_TOKEN });
  collectGarbage();
  const started = performance.now();
  let rows = 0;
  for (const range of RANGES) {
    for await (const batch of reader.readRows(TABLE, range.startNs, range.endNs, { chunkRows: CHUNK_ROWS })) {
      rows += batch.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (rows !== ROWS) throw new Error(`the reader read ${rows} rows, expected ${ROWS}`);
  return seconds;
}

/**
 * Seconds spent turning the window's rows into lines as the replicator does (row converter, then the
 * transform), chunk by chunk during a read; and the lines, for the queue and sink passes.
 */
async function timeConvert(localUrl: string): Promise<{ seconds: number; lines: string[] }> {
  const reader = createSqlReader({ url: localUrl, database: LOCAL_DB, token: LOCAL_TOKEN });
  const converter = createRowConverter(TABLE, await reader.readColumns(TABLE));
  const { downsampling: _none, ...rules } = CONFIG.transform;
  const transform = createTransform(rules);
  const lines: string[] = [];
  collectGarbage();
  let ms = 0;
  for (const range of RANGES) {
    for await (const batch of reader.readRows(TABLE, range.startNs, range.endNs, { chunkRows: CHUNK_ROWS })) {
      const started = performance.now();
      const converted = converter.toLines(batch);
      const out = transform.lines(converted.items);
      ms += performance.now() - started;
      if (converted.rejected.length > 0 || out.rejected.length > 0) throw new Error("a row was refused");
      for (const line of out.items) lines.push(line);
    }
  }
  if (lines.length !== ROWS) throw new Error(`converted ${lines.length} lines, expected ${ROWS}`);
  return { seconds: ms / 1000, lines };
}

/** Seconds to append `lines` durably in the call's chunks, then to read and acknowledge them all. */
async function timeQueue(lines: readonly string[]): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-queue-"));
  try {
    const queue = await createQueue({
      dir,
      name: CONFIG.queue.name,
      maxBytes: CONFIG.queue.maxBytes,
      fsync: "always",
    });
    try {
      collectGarbage();
      const started = performance.now();
      for (let from = 0; from < lines.length; from += CHUNK_ROWS) {
        await queue.append(lines.slice(from, from + CHUNK_ROWS).map((line) => ({ table: TABLE, line })));
      }
      let drained = 0;
      for (;;) {
        const batch = await queue.read({ maxEntries: READ_ENTRIES, maxBytes: READ_BYTES });
        if (batch.entries.length === 0) break;
        drained += batch.entries.length;
        await queue.ack(batch);
      }
      const seconds = (performance.now() - started) / 1000;
      if (drained !== lines.length) throw new Error(`drained ${drained} entries, expected ${lines.length}`);
      return seconds;
    } finally {
      await queue.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Seconds for the sink to deliver `lines` to the remote as the delivery sends them: calls of 10,000 lines, a
 * new one while fewer than 2 x maxInFlight x batchLines lines (and the same in bytes) are unanswered.
 */
async function timeSink(lines: readonly string[], remote: ServerProcess): Promise<number> {
  await remote.call({ op: "reset" });
  const config = benchConfig("http://127.0.0.1:1", remote.url, tmpdir(), HOURS).remote;
  const sink = createSink({ ...config, logger: { warn: () => undefined, error: (m) => console.error(m) } });
  const maxLines = 2 * config.maxInFlight * config.batchLines;
  const maxBytes = 2 * config.maxInFlight * config.batchBytes;
  try {
    collectGarbage();
    const started = performance.now();
    const calls: { lines: number; bytes: number; result: Promise<WriteResult> }[] = [];
    let unansweredLines = 0;
    let unansweredBytes = 0;
    let delivered = 0;
    const settleOldest = async (): Promise<void> => {
      const call = calls.shift()!;
      unansweredLines -= call.lines;
      unansweredBytes -= call.bytes;
      delivered += (await call.result).delivered;
    };
    for (let from = 0; from < lines.length; from += READ_ENTRIES) {
      while (calls.length > 0 && (unansweredLines >= maxLines || unansweredBytes >= maxBytes)) {
        await settleOldest();
      }
      const part = lines.slice(from, from + READ_ENTRIES);
      let bytes = 0;
      for (const line of part) bytes += line.length;
      calls.push({ lines: part.length, bytes, result: sink.write(part) });
      unansweredLines += part.length;
      unansweredBytes += bytes;
    }
    while (calls.length > 0) await settleOldest();
    const seconds = (performance.now() - started) / 1000;
    if (delivered !== lines.length) throw new Error(`the sink delivered ${delivered} of ${lines.length}`);
    return seconds;
  } finally {
    await sink.close();
  }
}

/** One scheduled call in a child process, for its memory (scheduled-child.ts). */
async function measureMemory(localUrl: string, remote: ServerProcess): Promise<MemoryReport> {
  await remote.call({ op: "reset" });
  const child = fork(
    new URL("./scheduled-child.ts", import.meta.url),
    [localUrl, remote.url, String(HOURS)],
    {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [
        ...process.execArgv,
        ...(PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`]),
      ],
    },
  );
  const report = await new Promise<MemoryReport>((resolve, reject) => {
    child.once("message", (message: MemoryReport) => resolve(message));
    child.once("exit", (code) => reject(new Error(`the memory child exited (${code}) without a report`)));
  });
  if (report.replicated !== ROWS) throw new Error(`the memory child replicated ${report.replicated} rows`);
  return report;
}

/** Prints the scheduled figures (see the top of this file). */
export async function runScheduledBench(): Promise<void> {
  const [local, remote] = await Promise.all([
    startServerProcess(LOCAL_TOKEN, true),
    startServerProcess(REMOTE_TOKEN, false),
  ]);
  try {
    await local.call({ op: "fill", db: LOCAL_DB, hours: HOURS });
    const stored = await local.call({ op: "points", db: LOCAL_DB });
    if (stored !== ROWS) throw new Error(`the local server holds ${String(stored)} points, expected ${ROWS}`);

    // Straight to the test server, once; the first read through the front is the server's own answers,
    // kept for the runs below.
    const directScheduled = DIRECT ? await timeScheduled(local.serverUrl, remote) : Number.NaN;
    const directRead = await timeRead(local.url);

    const bin = await installedEdrBin();
    const best = {
      scheduled: Infinity,
      command: Infinity,
      read: Infinity,
      convert: Infinity,
      queue: Infinity,
      sink: Infinity,
    };
    for (let run = 0; run < RUNS; run++) {
      best.read = Math.min(best.read, await timeRead(local.url));
      best.scheduled = Math.min(best.scheduled, await timeScheduled(local.url, remote, VERIFY && run === 0));
      best.command = Math.min(best.command, await timeCommand(local.url, remote, bin));
      const convert = await timeConvert(local.url);
      best.convert = Math.min(best.convert, convert.seconds);
      best.queue = Math.min(best.queue, await timeQueue(convert.lines));
      best.sink = Math.min(best.sink, await timeSink(convert.lines, remote));
    }
    const memory = await measureMemory(local.url, remote);

    const rate = (seconds: number) => ROWS / seconds;
    const stageSum = best.read + best.convert + best.queue + best.sink;
    emit("plugin.scheduled_rows", ROWS, "rows");
    emit("plugin.scheduled_rows_per_s", rate(best.scheduled), "rows/s");
    emit("e2e.scheduled_rows_per_s", rate(best.command), "rows/s");
    emit("e2e.scheduled_over_read_time_ratio", best.command / best.read, "x");
    emit("plugin.scheduled_read_rows_per_s", rate(best.read), "rows/s");
    emit("plugin.scheduled_convert_rows_per_s", rate(best.convert), "rows/s");
    emit("plugin.scheduled_queue_rows_per_s", rate(best.queue), "rows/s");
    emit("plugin.scheduled_sink_rows_per_s", rate(best.sink), "rows/s");
    emit("plugin.scheduled_over_read_time_ratio", best.scheduled / best.read, "x");
    emit("plugin.scheduled_over_convert_time_ratio", best.scheduled / best.convert, "x");
    emit("plugin.scheduled_over_queue_time_ratio", best.scheduled / best.queue, "x");
    emit("plugin.scheduled_over_sink_time_ratio", best.scheduled / best.sink, "x");
    emit("plugin.scheduled_over_stage_sum_time_ratio", best.scheduled / stageSum, "x");
    if (DIRECT) {
      emit("plugin.scheduled_testkit_direct_rows_per_s", rate(directScheduled), "rows/s");
      emit("plugin.scheduled_testkit_direct_read_rows_per_s", rate(directRead), "rows/s");
      emit("plugin.scheduled_testkit_direct_over_read_time_ratio", directScheduled / directRead, "x");
    }
    emit("plugin.scheduled_peak_rss_mb", memory.peakRssMb, "MB");
    emit("plugin.scheduled_baseline_rss_mb", memory.baselineRssMb, "MB");
    emit("plugin.scheduled_vmhwm_mb", memory.hwmRssMb, "MB");
  } finally {
    await Promise.allSettled([local.close(), remote.close()]);
  }
}
