/** A time range `[startNs, endNs)` of one table to copy. */
export interface TimeRange {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/** How a scheduled call's ranges are planned. */
export interface WindowPlan {
  /** The call's window end: call time minus offset, ns. */
  readonly endNs: bigint;
  /** The window width, ns. */
  readonly windowNs: bigint;
  /** Where this table was replicated up to, if it ever was. */
  readonly watermarkNs: bigint | undefined;
  /** Copy what was missed since the watermark first (else the seed's behaviour: the window alone). */
  readonly catchUp: boolean;
  /** Largest span one query reads (Core refuses queries touching more than 432 Parquet files). */
  readonly chunkNs: bigint;
  /**
   * With downsampling, the bucket width: both ends of the copy are floored to a bucket boundary, so a copy
   * holds whole buckets only. A bucket cut by the window's start is read from its beginning, one cut by the
   * window's end waits for the call whose window holds its end; otherwise a partial bucket would overwrite
   * the whole one at the remote (same table, tags and timestamp).
   */
  readonly bucketNs?: bigint | undefined;
}

/** At most one hour per query: far below Core's 432-file limit (about 3 days of data by default). */
export const DEFAULT_CHUNK_NS = 3_600_000_000_000n;

/**
 * The ranges one scheduled call copies for one table, oldest first: the window
 * `[end - window, end)`, extended back to the watermark when catching up after downtime, cut into chunks at
 * multiples of `chunkNs` since the epoch. `chunkNs` is a multiple of the downsampling interval (see
 * {@link chunkSpanNs}) so that no bucket is split between two chunks.
 */
export function planRanges(plan: WindowPlan): TimeRange[] {
  let startNs = plan.endNs - plan.windowNs;
  if (plan.catchUp && plan.watermarkNs !== undefined && plan.watermarkNs < startNs)
    startNs = plan.watermarkNs;
  let endNs = plan.endNs;
  if (plan.bucketNs !== undefined && plan.bucketNs > 0n) {
    startNs = floorTo(startNs, plan.bucketNs);
    endNs = floorTo(endNs, plan.bucketNs);
  }
  const ranges: TimeRange[] = [];
  for (let from = startNs; from < endNs;) {
    const boundary = floorTo(from, plan.chunkNs) + plan.chunkNs;
    const to = boundary < endNs ? boundary : endNs;
    ranges.push({ startNs: from, endNs: to });
    from = to;
  }
  return ranges;
}

/** The chunk span: `DEFAULT_CHUNK_NS`, or the smallest multiple of the downsampling interval at least that long. */
export function chunkSpanNs(intervalNs: bigint | undefined, maxNs: bigint = DEFAULT_CHUNK_NS): bigint {
  if (intervalNs === undefined || intervalNs <= 0n) return maxNs;
  return ((maxNs + intervalNs - 1n) / intervalNs) * intervalNs;
}

/** Floors toward minus infinity, as `DATE_BIN` does before 1970. */
export function floorTo(value: bigint, step: bigint): bigint {
  const r = value % step;
  return r < 0n ? value - r - step : value - r;
}

/** `2025-05-14 16:31:10 UTC`, the seed's spelling of a scheduled time. */
export function formatCallTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** An ns timestamp as ISO 8601 with its full fraction (`2025-05-14T16:31:10.000000001Z`). */
export function formatNs(ns: bigint): string {
  const ms = floorTo(ns, 1_000_000n) / 1_000_000n;
  const rest = ns - ms * 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  if (rest === 0n) return iso;
  return `${iso.slice(0, -1)}${rest.toString().padStart(6, "0")}Z`;
}
