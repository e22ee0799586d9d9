import type { ScheduledConfig } from "edr-args";
import { createDownsampler, type RowConverter } from "edr-transform";
import type { Call } from "./call.js";
import { errorMessage, logQueued } from "./call.js";
import type { Pipeline } from "./pipeline.js";
import type { LocalReader } from "./readers/local-reader.js";
import type { WatermarkStore } from "./watermarks.js";
import { chunkSpanNs, formatCallTime, formatNs, planRanges, type TimeRange } from "./windows.js";

const MS = 1_000_000n;
/** Rows per chunk read from the local instance, and so per queue append. */
const CHUNK_ROWS = 10_000;
/** While catching up, progress is logged every this many chunks (and at the last). */
const PROGRESS_EVERY_CHUNKS = 10;

/** What a scheduled call works with. */
export interface ScheduledCallParts {
  readonly config: ScheduledConfig;
  readonly pipeline: Pipeline;
  readonly reader: LocalReader;
  readonly watermarks: WatermarkStore;
}

/**
 * Copies `[callTime - offset - window, callTime - offset)` of every selected table, catching up from each
 * table's watermark first, oldest first, in bounded chunks. A table that fails is reported in the call and
 * keeps its watermark where it was; the others go on.
 */
export async function copyScheduledWindows(
  call: Call,
  parts: ScheduledCallParts,
  callTime: Date,
): Promise<void> {
  const { config, reader } = parts;
  call.log.info(`Starting execution with scheduled time ${formatCallTime(callTime)}`);
  call.log.info("Starting data replication process");
  const tables = config.transform.tables ? [...config.transform.tables] : await reader.listTables();
  const endNs = BigInt(callTime.getTime() - config.offsetMs) * MS;
  const windowNs = BigInt(config.windowMs) * MS;
  const intervalMs = config.transform.downsampling?.intervalMs;
  const bucketNs = intervalMs === undefined ? undefined : BigInt(intervalMs) * MS;
  const chunkNs = chunkSpanNs(bucketNs);
  for (const table of tables) {
    try {
      const ranges = planRanges({
        endNs,
        windowNs,
        watermarkNs: parts.watermarks.get(table),
        catchUp: config.catchUp,
        chunkNs,
        bucketNs,
      });
      // Catching up: the copy starts before this call's window, where the last copy of this table ended.
      const catchingUp = ranges.length > 0 && ranges[0]!.startNs < endNs - windowNs;
      await copyTable(call, parts, table, ranges, catchingUp);
    } catch (error) {
      call.fail(`table ${table}: ${errorMessage(error)}`);
    }
  }
  logQueued(call);
}

/** Copies the ranges of one table, oldest first; each range's end becomes the watermark once queued. */
async function copyTable(
  call: Call,
  parts: ScheduledCallParts,
  table: string,
  ranges: readonly TimeRange[],
  catchingUp: boolean,
): Promise<number> {
  if (ranges.length === 0) return 0;
  const columns = await parts.reader.readColumns(table);
  if (columns.length === 0) call.log.warn(`table ${table}: not found in the local database; nothing to copy`);
  const converter = columns.length === 0 ? undefined : parts.pipeline.converter(table, columns);
  if (catchingUp) {
    call.log.info(
      `Catching up ${table}: ${ranges.length} chunks from ${formatNs(ranges[0]!.startNs)} to ${formatNs(ranges.at(-1)!.endNs)}`,
    );
  }
  let queued = 0;
  for (const [i, range] of ranges.entries()) {
    if (converter) queued += await copyRange(call, parts, converter, table, range);
    // Only forward: a call for an earlier time (a clock set back, --call-time) must not undo progress.
    const watermark = parts.watermarks.get(table);
    if (watermark === undefined || range.endNs > watermark) await parts.watermarks.set(table, range.endNs);
    if (catchingUp && (i + 1 === ranges.length || (i + 1) % PROGRESS_EVERY_CHUNKS === 0)) {
      call.log.info(
        `Catching up ${table}: ${i + 1}/${ranges.length} chunks, up to ${formatNs(range.endNs)}, ${queued} lines queued`,
      );
    }
  }
  return queued;
}

/** One range of one table: read in chunks, converted, downsampled as a whole when asked, queued. */
async function copyRange(
  call: Call,
  parts: ScheduledCallParts,
  converter: RowConverter,
  table: string,
  range: TimeRange,
): Promise<number> {
  const { pipeline } = parts;
  const downsampling = parts.config.transform.downsampling;
  // A range holds whole buckets (see planRanges), so its buckets are complete when it ends.
  const downsampler = downsampling && createDownsampler(downsampling);
  let queued = 0;
  // One append in flight while the next chunk is read and converted, so that its fsync (and its compression,
  // on the thread pool) overlaps the read; each append still starts after the one before it has resolved.
  let appending: Promise<number> | undefined;
  try {
    for await (const rows of parts.reader.readRows(table, range.startNs, range.endNs, {
      chunkRows: CHUNK_ROWS,
    })) {
      if (downsampler) {
        const points = converter.toPoints(rows);
        pipeline.refuseRows(call, table, rows, points.rejected);
        const added = downsampler.add(points.items);
        for (const problem of added.problems) pipeline.refuse(call, table, "downsampling", problem);
      } else {
        const lines = converter.toLines(rows);
        pipeline.refuseRows(call, table, rows, lines.rejected);
        if (appending) queued += await appending;
        appending = pipeline.queueLines(call, table, lines.items);
      }
    }
    if (appending) queued += await appending;
  } finally {
    // A read that failed with an append in flight: the append ends first (the read's error is the one thrown).
    await appending?.catch(() => undefined);
  }
  if (downsampler) {
    const out = downsampler.flushAll();
    for (const problem of out.problems) pipeline.refuse(call, table, "downsampling", problem);
    queued += await pipeline.queuePoints(call, table, out.points);
  }
  return queued;
}
