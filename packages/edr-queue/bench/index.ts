// pnpm bench: one JSON line per figure, {"name","value","unit"}, each beside its baseline from the same run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { createFflateCodec, createQueue, createZlibCodec, type Codec, type Queue } from "../src/index.js";
import { buildForChild } from "../test/build-child.js";
import { makeEntries } from "./lines.js";
import { parseEntries } from "../src/entries.js";

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

async function appendRun(codec: "zlib" | "fflate", dir: string): Promise<number> {
  const q = await createQueue({ dir, codec, fsync: "always" });
  const t0 = performance.now();
  for (const b of batches) await q.append(b);
  const rate = totalLines / ((performance.now() - t0) / 1000);
  await q.close();
  return rate;
}

async function drainRun(q: Queue): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for (;;) {
    const b = await q.read({ maxEntries: BATCH });
    if (b.entries.length === 0) break;
    n += b.entries.length;
    await q.ack(b);
  }
  return n / ((performance.now() - t0) / 1000);
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
  let append = 0;
  let appendFloor = 0;
  let drain = 0;
  let drainFloor = 0;
  for (let i = 0; i < RUNS; i++) {
    appendFloor = Math.max(appendFloor, await durableAppendFloor(impl));
    append = Math.max(append, await appendRun(codec, freshDir()));
    drainFloor = Math.max(drainFloor, await durableDrainFloor(impl));
    const dir = freshDir();
    await fill(dir, codec, totalLines);
    const q = await createQueue({ dir, codec, fsync: "always" });
    drain = Math.max(drain, await drainRun(q));
    await q.close();
  }
  emit(`queue.${codec}.fsync_append_ms`, await fsyncMs(), "ms");
  emit(`queue.${codec}.codec_compress_floor_lines_per_s`, compressFloor, "lines/s");
  emit(`queue.${codec}.append_lines_per_s`, append, "lines/s");
  emit(`queue.${codec}.append_floor_ratio`, compressFloor / append, "x");
  emit(`queue.${codec}.append_durable_floor_lines_per_s`, appendFloor, "lines/s");
  emit(`queue.${codec}.append_durable_floor_ratio`, appendFloor / append, "x");
  emit(`queue.${codec}.codec_decompress_floor_lines_per_s`, decompressFloor, "lines/s");
  emit(`queue.${codec}.decode_floor_lines_per_s`, decodeFloor, "lines/s");
  emit(`queue.${codec}.drain_lines_per_s`, drain, "lines/s");
  emit(`queue.${codec}.drain_floor_ratio`, decompressFloor / drain, "x");
  emit(`queue.${codec}.drain_durable_floor_lines_per_s`, drainFloor, "lines/s");
  emit(`queue.${codec}.drain_durable_floor_ratio`, drainFloor / drain, "x");

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
