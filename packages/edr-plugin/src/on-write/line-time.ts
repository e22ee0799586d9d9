/**
 * The timestamp (ns) of a line that carries one, as every intake line does: the last field of the line. A
 * string field value cannot end a line that has a timestamp, so the text after the last space or tab (trailing
 * whitespace aside) is the timestamp. Undefined when that text is not an integer.
 */
export function lineTimestampNs(line: string): bigint | undefined {
  let end = line.length;
  while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
  let start = end;
  while (start > 0 && !isBlank(line.charCodeAt(start - 1))) start--;
  if (start === 0 || start === end) return undefined;
  const text = line.slice(start, end);
  return /^-?[0-9]{1,19}$/.test(text) ? BigInt(text) : undefined;
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Floors toward minus infinity to a multiple of `step`. */
export function floorNs(value: bigint, step: bigint): bigint {
  const r = value % step;
  return r < 0n ? value - r - step : value - r;
}

/** The exclusive end of the bucket of width `bucketNs` that holds `ns`. */
export function bucketEndNs(ns: bigint, bucketNs: bigint): bigint {
  return floorNs(ns, bucketNs) + bucketNs;
}
