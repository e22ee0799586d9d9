const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})?$/;

/**
 * Formats ns since the epoch as InfluxDB 3's JSON does: UTC without a zone, the fraction left out when zero,
 * else 3, 6 or 9 digits, the fewest that hold it.
 */
export function formatTime(ns: bigint): string {
  let seconds = ns / NS_PER_S;
  let fraction = ns % NS_PER_S;
  if (fraction < 0n) {
    fraction += NS_PER_S;
    seconds -= 1n;
  }
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  if (fraction === 0n) return base;
  const nine = fraction.toString().padStart(9, "0");
  if (nine.endsWith("000000")) return `${base}.${nine.slice(0, 3)}`;
  if (nine.endsWith("000")) return `${base}.${nine.slice(0, 6)}`;
  return `${base}.${nine}`;
}

/**
 * Parses an RFC 3339 timestamp (`T` or a space; a fraction of up to 9 digits; `Z`, an offset, or no zone,
 * read as UTC as DataFusion does) to ns since the epoch; undefined when it is not one.
 */
export function parseTime(text: string): bigint | undefined {
  const m = RFC3339_RE.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), month - 1, day);
  if (date.getUTCDate() !== day) return undefined; // 2025-02-30 and the like
  let ms = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000;
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const offsetMinutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
    ms -= sign * offsetMinutes * 60_000;
  }
  return BigInt(ms) * NS_PER_MS + BigInt((frac ?? "").padEnd(9, "0") || "0");
}
