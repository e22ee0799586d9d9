// pnpm bench: one JSON line per figure, {"name","value","unit"}, each beside its baseline from the same run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { createFflateCodec, createQueue, createZlibCodec, type Codec, type Queue } from "../src/index.js";
import { buildForChild } from "../test/build-child.js";
import { makeEntries, makeQuotedEntries } from "./lines.js";
import { parseEntries, serializeEntries, type QueueEntry } from "../src/entries.js";

const BATCH = 1000;
const BATCHES = Number(process.env.EDR_BENCH_BATCHES ?? 200);
const RUNS = Number(process.env.EDR_BENCH_RUNS ?? 3);
const BIG = Number(process.env.EDR_BENCH_BIG ?? 1_000_000);

const dirs: string[] = [];
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "edr-queue-bench-"));
  dirs.push(d);
  return d;
};
const emit = (name: string, value: number, unit: string): void =>
  console.log(JSON.stringify({ name, value: Number(value.toPrecision(4)), unit }));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const batches = Array.from({ length: BATCHES }, (_, b) => makeEntries(b * BATCH, BATCH));
const texts = batches.map((es) =>
  es.map((e) => '{"table":' + JSON.stringify(e.table) + ',"line":' + JSON.stringify(e.line) + "}\n").join(""),
);
const raws = texts.map((t) => Buffer.from(t));
const lineBytes = raws.reduce((n, r) => n + r.length, 0) / (BATCHES * BATCH);
const totalLines = BATCHES * BATCH;

/** The codec floor: compress (deflate + CRC-32, what an append must do) and decompress the same bytes. */
function floors(codec: Codec): { compress: number; decompress: number; decode: number } {
  const t0 = performance.now();
  const bodies = raws.map((r) => {
    crc32(r);
    return codec.deflateRaw(r);
  });
  const t1 = performance.now();
  bodies.forEach((b, i) => crc32(codec.inflateRaw(b, raws[i]!.length)));
  const t2 = performance.now();
  // Decoding as read() must: inflate, check, UTF-8 to text, JSON lines to entries.
  bodies.forEach((b, i) => {
    const raw = codec.inflateRaw(b, raws[i]!.length);
    crc32(raw);
    parseEntries(Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("utf8"));
  });
  const t3 = performance.now();
  return {
    compress: totalLines / ((t1 - t0) / 1000),
    decompress: totalLines / ((t2 - t1) / 1000),
    decode: totalLines / ((t3 - t2) / 1000),
  };
}

/** A timed run: lines/s, and ms of main-thread (event loop) work per 1,000 lines. */
interface Run {
  rate: number;
  mainMsPer1k: number;
}

/** Times `fn`, which handles `lines` lines, by the wall clock and by the event loop's active time. */
async function timed(lines: number, fn: () => Promise<void>): Promise<Run> {
  const elu = performance.eventLoopUtilization();
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  return {
    rate: lines / seconds,
    mainMsPer1k: performance.eventLoopUtilization(elu).active / (lines / 1000),
  };
}

async function appendRun(codec: "zlib" | "fflate", dir: string): Promise<Run> {
  const q = await createQueue({ dir, codec, fsync: "always" });
  const run = await timed(totalLines, async () => {
    for (const b of batches) await q.append(b);
  });
  await q.close();
  return run;
}

async function drainRun(q: Queue): Promise<Run> {
  let n = 0;
  const run = await timed(totalLines, async () => {
    for (;;) {
      const b = await q.read({ maxEntries: BATCH });
      if (b.entries.length === 0) break;
      n += b.entries.length;
      await q.ack(b);
    }
  });
  if (n !== totalLines) throw new Error(`drained ${n} of ${totalLines}`);
  return run;
}

/** A reader that keeps up with the writer: append 1,000 lines, then read and acknowledge them. */
async function followRun(codec: "zlib" | "fflate", dir: string): Promise<Run> {
  const q = await createQueue({ dir, codec, fsync: "always" });
  const run = await timed(totalLines, async () => {
    for (const b of batches) {
      await q.append(b);
      const got = await q.read({ maxEntries: BATCH });
      if (got.entries.length !== b.length) throw new Error("follow: short read");
      await q.ack(got);
    }
  });
  await q.close();
  return run;
}

/**
 * Lines/s of turning entries into JSON lines (UTF-8 bytes, what an append compresses) and of turning
 * JSON lines back into entries (what a read does after inflating), for plain and for quoted lines, beside
 * the JSON built-ins doing the same (edr-queue 0.0: JSON.stringify per string, then Buffer.from; one
 * JSON.parse of the member's lines made into an array). CPU time, best of RUNS + 1.
 */
function codecOfEntries(): void {
  const n = 10_000;
  const sets: [string, QueueEntry[][]][] = [
    ["plain", Array.from({ length: 20 }, (_, b) => makeEntries(b * n, n))],
    ["quoted", Array.from({ length: 20 }, (_, b) => makeQuotedEntries(b * n, n))],
  ];
  const cpuRate = (lines: number, fn: () => void): number => {
    let best = Infinity;
    for (let i = 0; i < RUNS + 1; i++) {
      const c = process.cpuUsage();
      fn();
      const used = process.cpuUsage(c);
      best = Math.min(best, (used.user + used.system) / 1e6);
    }
    return lines / best;
  };
  for (const [kind, sets2] of sets) {
    const lines = sets2.length * n;
    const store = { buf: Buffer.alloc(0) };
    const stringify = (s: string): string => JSON.stringify(s);
    emit(
      `queue.serialize.${kind}_lines_per_s`,
      cpuRate(lines, () => {
        for (const es of sets2) serializeEntries(es, store);
      }),
      "lines/s",
    );
    emit(
      `queue.serialize.${kind}_json_stringify_lines_per_s`,
      cpuRate(lines, () => {
        for (const es of sets2) {
          let out = "";
          for (const e of es)
            out += '{"table":' + stringify(e.table) + ',"line":' + stringify(e.line) + "}\n";
          Buffer.from(out, "utf8");
        }
      }),
      "lines/s",
    );
    const texts2 = sets2.map((es) => serializeEntries(es).toString("utf8"));
    emit(
      `queue.parse.${kind}_lines_per_s`,
      cpuRate(lines, () => {
        for (const t of texts2) parseEntries(t);
      }),
      "lines/s",
    );
    emit(
      `queue.parse.${kind}_json_parse_lines_per_s`,
      cpuRate(lines, () => {
        for (const t of texts2) JSON.parse("[" + t.slice(0, -1).replaceAll("\n", ",") + "]");
      }),
      "lines/s",
    );
  }
}

async function fill(dir: string, codec: "zlib" | "fflate", lines: number): Promise<void> {
  const q = await createQueue({ dir, codec, fsync: "never" });
  for (let done = 0; done < lines; done += BATCH) await q.append(batches[(done / BATCH) % BATCHES]!);
  await q.close();
}

/**
 * Median ms of acknowledging one batch of 1,000 with `smallN` vs `bigN` entries queued. The two queues
 * take turns, so both see the same disk (fsync latency here swings with the other work on the machine);
 * after each ack the batch is appended again (untimed) so the queue keeps its size.
 */
async function ackPair(small: string, big: string, codec: "zlib" | "fflate"): Promise<[number, number]> {
  const queues = [small, big].map((dir) => createQueue({ dir, codec, fsync: "always" }));
  const [qs, qb] = await Promise.all(queues);
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < 41; i++) {
    for (const [k, q] of [qs!, qb!].entries()) {
      const b = await q.read({ maxEntries: BATCH });
      const t0 = performance.now();
      await q.ack(b);
      times[k]!.push(performance.now() - t0);
      await q.append(b.entries);
    }
  }
  await qs!.close();
  await qb!.close();
  return [median(times[0]), median(times[1])];
}

/** The durable append floor: compress + CRC the same bytes, write them and fsync, per 1,000 lines. */
async function durableAppendFloor(codec: Codec): Promise<number> {
  const fh = await open(join(freshDir(), "floor"), "w");
  const t0 = performance.now();
  for (const raw of raws) {
    crc32(raw);
    await fh.write(codec.deflateRaw(raw));
    await fh.datasync();
  }
  const rate = totalLines / ((performance.now() - t0) / 1000);
  await fh.close();
  return rate;
}

/** The durable drain floor: inflate + CRC + parse the same members, then write 256 bytes in place and fsync. */
async function durableDrainFloor(codec: Codec): Promise<number> {
  const bodies = raws.map((r) => codec.deflateRaw(r));
  const fh = await open(join(freshDir(), "cursor"), "w");
  const slot = Buffer.alloc(256, 32);
  await fh.write(slot, 0, 256, 0);
  const t0 = performance.now();
  for (let i = 0; i < bodies.length; i++) {
    const raw = codec.inflateRaw(bodies[i]!, raws[i]!.length);
    crc32(raw);
    parseEntries(Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("utf8"));
    await fh.write(slot, 0, 256, 0);
    await fh.datasync();
  }
  const rate = totalLines / ((performance.now() - t0) / 1000);
  await fh.close();
  return rate;
}

/** Median ms of opening (and closing) a queue: recovery reads one header per member. */
async function openMs(dir: string, codec: "zlib" | "fflate"): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const q = await createQueue({ dir, codec });
    times.push(performance.now() - t0);
    await q.close();
  }
  return median(times);
}

/** Median ms of appending 12 KB (a compressed batch of 1,000 lines) and fdatasync-ing it, right now. */
async function fsyncMs(): Promise<number> {
  const fh = await open(join(freshDir(), "probe"), "w");
  const buf = Buffer.alloc(12_000, 7);
  const times: number[] = [];
  for (let i = 0; i < 31; i++) {
    const t0 = performance.now();
    await fh.write(buf);
    await fh.datasync();
    times.push(performance.now() - t0);
  }
  await fh.close();
  return median(times);
}

emit("queue.line_bytes", lineBytes, "bytes");
codecOfEntries();
const child = join(
  buildForChild("bench", ["bench/drain-child.ts", "bench/lines.ts"]),
  "bench",
  "drain-child.js",
);
for (const codec of ["zlib", "fflate"] as const) {
  const impl = codec === "zlib" ? createZlibCodec() : createFflateCodec();
  let compressFloor = 0;
  let decompressFloor = 0;
  let decodeFloor = 0;
  for (let i = 0; i < RUNS + 1; i++) {
    const f = floors(impl);
    compressFloor = Math.max(compressFloor, f.compress);
    decompressFloor = Math.max(decompressFloor, f.decompress);
    decodeFloor = Math.max(decodeFloor, f.decode);
  }
  // Queue runs alternate with the durable floors (the same codec work plus one write and one fsync per
  // 1,000 lines on a plain file, nothing else), so both see the same disk; best of RUNS each.
  let append: Run = { rate: 0, mainMsPer1k: Infinity };
  let appendFloor = 0;
  let drain: Run = { rate: 0, mainMsPer1k: Infinity };
  let drainFloor = 0;
  let follow: Run = { rate: 0, mainMsPer1k: Infinity };
  const best = (a: Run, b: Run): Run => ({
    rate: Math.max(a.rate, b.rate),
    mainMsPer1k: Math.min(a.mainMsPer1k, b.mainMsPer1k),
  });
  for (let i = 0; i < RUNS; i++) {
    appendFloor = Math.max(appendFloor, await durableAppendFloor(impl));
    append = best(append, await appendRun(codec, freshDir()));
    drainFloor = Math.max(drainFloor, await durableDrainFloor(impl));
    const dir = freshDir();
    await fill(dir, codec, totalLines);
    const q = await createQueue({ dir, codec, fsync: "always" });
    drain = best(drain, await drainRun(q));
    await q.close();
    follow = best(follow, await followRun(codec, freshDir()));
  }
  emit(`queue.${codec}.fsync_append_ms`, await fsyncMs(), "ms");
  emit(`queue.${codec}.codec_compress_floor_lines_per_s`, compressFloor, "lines/s");
  emit(`queue.${codec}.append_lines_per_s`, append.rate, "lines/s");
  emit(`queue.${codec}.append_main_thread_ms_per_1k`, append.mainMsPer1k, "ms");
  emit(`queue.${codec}.append_floor_ratio`, compressFloor / append.rate, "x");
  emit(`queue.${codec}.append_durable_floor_lines_per_s`, appendFloor, "lines/s");
  emit(`queue.${codec}.append_durable_floor_ratio`, appendFloor / append.rate, "x");
  emit(`queue.${codec}.codec_decompress_floor_lines_per_s`, decompressFloor, "lines/s");
  emit(`queue.${codec}.decode_floor_lines_per_s`, decodeFloor, "lines/s");
  emit(`queue.${codec}.drain_lines_per_s`, drain.rate, "lines/s");
  emit(`queue.${codec}.drain_main_thread_ms_per_1k`, drain.mainMsPer1k, "ms");
  emit(`queue.${codec}.drain_floor_ratio`, decompressFloor / drain.rate, "x");
  emit(`queue.${codec}.drain_durable_floor_lines_per_s`, drainFloor, "lines/s");
  emit(`queue.${codec}.drain_durable_floor_ratio`, drainFloor / drain.rate, "x");
  // Appending and then reading back from disk would take 1/append + 1/drain per line; a reader that keeps
  // up gets the entries from memory.
  emit(`queue.${codec}.follow_lines_per_s`, follow.rate, "lines/s");
  emit(`queue.${codec}.follow_main_thread_ms_per_1k`, follow.mainMsPer1k, "ms");
  emit(`queue.${codec}.follow_from_disk_lines_per_s`, 1 / (1 / append.rate + 1 / drain.rate), "lines/s");

  const small = freshDir();
  await fill(small, codec, BATCH);
  const big = freshDir();
  await fill(big, codec, BIG);
  const [at1k, at1m] = await ackPair(small, big, codec);
  if (process.env.EDR_BENCH_DEBUG) console.error(execFileSync("ls", ["-l", big], { encoding: "utf8" }));
  const [open1k, open1m] = [await openMs(small, codec), await openMs(big, codec)];
  emit(`queue.${codec}.open_ms_at_1k`, open1k, "ms");
  emit(`queue.${codec}.open_ms_at_1m`, open1m, "ms");
  emit(`queue.${codec}.ack_ms_at_1k`, at1k, "ms");
  emit(`queue.${codec}.ack_ms_at_1m`, at1m, "ms");
  emit(`queue.${codec}.ack_ratio_1m_vs_1k`, at1m / at1k, "x");

  // Drain the 1M queue in a child (a fresh copy each run): its peak RSS is the queue's, not the bench's.
  let peak = 0;
  let baseline = 0;
  let rate = 0;
  for (let i = 0; i < RUNS; i++) {
    const copy = freshDir();
    execFileSync("cp", ["-a", `${big}/.`, copy]);
    const report = JSON.parse(execFileSync(process.execPath, [child, copy, codec], { encoding: "utf8" })) as {
      drained: number;
      seconds: number;
      peakRssMb: number;
      baselineRssMb: number;
    };
    if (report.drained !== BIG) throw new Error(`drained ${report.drained} of ${BIG}`);
    peak = Math.max(peak, report.peakRssMb);
    if (process.env.EDR_BENCH_DEBUG) console.error(codec, JSON.stringify(report));
    baseline = Math.max(baseline, report.baselineRssMb);
    rate = Math.max(rate, report.drained / report.seconds);
    rmSync(copy, { recursive: true, force: true });
  }
  emit(`queue.${codec}.drain_peak_rss_mb`, peak, "MB");
  emit(`queue.${codec}.drain_baseline_rss_mb`, baseline, "MB");
  emit(`queue.${codec}.drain_1m_lines_per_s`, rate, "lines/s");
}
for (const d of dirs) rmSync(d, { recursive: true, force: true });
