import { PluginError } from "../errors.js";

const NS_PER_SECOND = 1_000_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Checks a `[startNs, endNs)` range before it enters a query: both ends must be int64 nanoseconds (what
 * InfluxDB stores). Returns false for an empty range, which needs no query at all.
 */
export function checkTimeRange(table: string, startNs: bigint, endNs: bigint): boolean {
  for (const [name, value] of [
    ["startNs", startNs],
    ["endNs", endNs],
  ] as const) {
    if (typeof value !== "bigint" || value < INT64_MIN || value > INT64_MAX) {
      throw new PluginError(
        "INVALID_ARGUMENT",
        `reading table ${JSON.stringify(table)}: ${name} must be a bigint of int64 nanoseconds, got ${String(value)}`,
      );
    }
  }
  return startNs < endNs;
}

/**
 * Int64 nanoseconds since the epoch as RFC 3339 in UTC with all nine fraction digits
 * (`1969-12-31T23:59:59.999999999Z`): exact to the nanosecond, before 1970 as after, up to 2262.
 */
export function formatRfc3339Nanos(ns: bigint): string {
  let seconds = ns / NS_PER_SECOND;
  let fraction = ns % NS_PER_SECOND;
  // bigint division truncates toward zero: before 1970 the fraction must count up from the earlier second.
  if (fraction < 0n) {
    fraction += NS_PER_SECOND;
    seconds -= 1n;
  }
  // int64 ns is about ±9.2e9 s: as ms it is well inside what a Date holds exactly.
  const date = new Date(Number(seconds) * 1000).toISOString();
  return `${date.slice(0, 19)}.${fraction.toString().padStart(9, "0")}Z`;
}
