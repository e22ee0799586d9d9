// Timestamps of written lines: the unit a request gives them, and their conversion to nanoseconds.

const NS_PER: Record<string, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Converts a line's timestamp (in `unit`: ns, us, ms, s or auto) to ns, or says why it cannot be; no
 * timestamp means `nowNs`. "auto" guesses the unit per line from its magnitude, as InfluxDB 3 does.
 */
export function toNs(timestamp: bigint | undefined, unit: string, nowNs: bigint): bigint | string {
  if (timestamp === undefined) return nowNs;
  const u = unit === "auto" ? guessUnit(timestamp) : unit;
  const ns = timestamp * NS_PER[u]!;
  if (ns < INT64_MIN || ns > INT64_MAX)
    return `timestamp ${timestamp} in ${u} is outside the nanosecond range`;
  return ns;
}

/** InfluxDB 3's `guess_precision`: the magnitude in seconds-if-ns decides. */
function guessUnit(timestamp: bigint): string {
  const abs = timestamp < 0n ? -timestamp : timestamp;
  const val = abs / 1_000_000_000n;
  if (val < 5n) return "s";
  if (val < 5_000n) return "ms";
  if (val < 5_000_000n) return "us";
  return "ns";
}

/**
 * Most digits a timestamp in `unit` may have and be sure to fit in int64 nanoseconds once converted. With
 * "auto", small values get a coarse unit but stay under 5e18 ns, so only 19-digit ones (read as ns) matter.
 */
const SAFE_DIGITS: Record<string, number> = { ns: 18, us: 15, ms: 12, s: 9, auto: 18 };

/**
 * Whether the timestamp `b[start, end)` (ASCII: an optional minus and digits) is within the signed 64-bit
 * range and stays so once converted from `unit` to ns. Decided from the digit count for nearly every line;
 * only long ones are parsed.
 */
export function timestampFits(b: Uint8Array, start: number, end: number, unit: string): boolean {
  const digits = b[start] === 45 /* - */ ? end - start - 1 : end - start;
  const safe = SAFE_DIGITS[unit]!;
  if (digits <= safe) return true;
  // 19 digits starting with 1 to 8 are below 9.0e18 < 2^63: today's ns timestamps.
  const first = b[end - digits]!;
  if (digits === 19 && safe === 18 && first >= 49 && first <= 56) return true;
  const text = String.fromCharCode(...b.subarray(start, end));
  return typeof toNs(BigInt(text), unit, 0n) === "bigint";
}
