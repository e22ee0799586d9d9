// A write's body read once: its lines split as InfluxDB 3 splits them (split-lines.ts), where each one's timestamp is, and
// what goes to the local instance and to the intake. Per line of an ASCII body there are four offsets in two
// typed arrays and no string until one is asked for; the intake's objects are made only for lines the local
// instance stored.
import { TableReader, locateTimestamp, locateTimestampIn, toNanosText } from "./line-times.js";
import type { TimeUnit } from "./write-endpoints.js";
import type { IntakeLine } from "./write-intake.js";
import { lineBounds, splitBody } from "./split-lines.js";

/** The lines of one write and where their timestamps are. */
export interface WriteLines {
  /** How many lines. */
  readonly count: number;
  /**
   * The lines as InfluxDB 3 splits a body: at newlines outside quoted strings, leading whitespace trimmed,
   * blank and `#` comment lines left out. Line `i` is the one the server numbers `line_number` `i + 1`.
   * Made on first use: a write answered without looking at its lines makes no string.
   */
  readonly lines: readonly string[];
  /** Per line `i`: `[2i]` the timestamp's start or -1 (none), `[2i + 1]` its end or where a stamp goes. */
  readonly times: Int32Array;
  /** How many lines have no timestamp (edr stamps them before forwarding). */
  readonly unstamped: number;
  /** An ASCII body: the body, and where each line is in it (`bounds[2i]`, `bounds[2i + 1]`). */
  readonly ascii: { readonly body: Buffer; readonly bounds: Int32Array } | undefined;
}

/** Splits a decoded body (UTF-8) into lines and finds their timestamps. A leading byte order mark is dropped, as the servers do. */
export function scanWriteLines(decoded: Buffer): WriteLines {
  const bounds = lineBounds(decoded);
  if (bounds === undefined) {
    const lines = splitBody(decoded);
    const times = new Int32Array(lines.length * 2);
    let unstamped = 0;
    for (let i = 0; i < lines.length; i++) {
      locateTimestamp(lines[i]!, times, 2 * i);
      if (times[2 * i]! < 0) unstamped++;
    }
    return { count: lines.length, lines, times, unstamped, ascii: undefined };
  }
  const { count, at } = bounds;
  const times = new Int32Array(count * 2);
  let unstamped = 0;
  for (let i = 0; i < count; i++) {
    locateTimestampIn(decoded, at[2 * i]!, at[2 * i + 1]!, times, 2 * i);
    if (times[2 * i]! < 0) unstamped++;
  }
  return new AsciiLines(count, times, unstamped, { body: decoded, bounds: at });
}

/** The lines of an ASCII body, their strings made when first asked for. */
class AsciiLines implements WriteLines {
  private made: string[] | undefined;

  constructor(
    readonly count: number,
    readonly times: Int32Array,
    readonly unstamped: number,
    readonly ascii: { readonly body: Buffer; readonly bounds: Int32Array },
  ) {}

  get lines(): readonly string[] {
    if (this.made !== undefined) return this.made;
    const { body, bounds } = this.ascii;
    const text = body.toString("latin1");
    const lines = new Array<string>(this.count);
    for (let i = 0; i < this.count; i++) lines[i] = text.slice(bounds[2 * i], bounds[2 * i + 1]);
    return (this.made = lines);
  }
}

/** Line `i` as it is sent to the local instance: stamped with `stamp` when it has no timestamp. */
export function sentLine(write: WriteLines, i: number, stamp: string): string {
  const line = write.lines[i]!;
  if (write.times[2 * i]! >= 0) return line;
  const end = write.times[2 * i + 1]!;
  return `${end === line.length ? line : line.slice(0, end)} ${stamp}`;
}

/**
 * The body sent to the local instance when some line had no timestamp: every line, those without one
 * followed by ` <stamp>`, joined by newlines, as plain (not gzipped) UTF-8. Written straight into one
 * buffer (from an ASCII body byte for byte), no string per line. `decodedBytes` (the decoded body's size)
 * bounds its length: lines are pieces of that body, and only the stamps are added.
 */
export function stampedBody(write: WriteLines, stamp: string, decodedBytes: number): Buffer {
  const { count, times, ascii } = write;
  const out = Buffer.allocUnsafe(decodedBytes + write.unstamped * (stamp.length + 1) + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) out[at++] = 10;
    if (ascii !== undefined) {
      const start = ascii.bounds[2 * i]!;
      const end = times[2 * i]! >= 0 ? ascii.bounds[2 * i + 1]! : start + times[2 * i + 1]!;
      at += ascii.body.copy(out, at, start, end);
    } else {
      const line = write.lines[i]!;
      const end = times[2 * i]! >= 0 ? line.length : times[2 * i + 1]!;
      at += out.write(end === line.length ? line : line.slice(0, end), at);
    }
    if (times[2 * i]! >= 0) continue;
    out[at++] = 32;
    at += out.write(stamp, at, "latin1");
  }
  return out.subarray(0, at);
}

/** The lines of a write as `IntakeLine`s, and how many could not be given a nanosecond timestamp. */
export interface IntakeBatch {
  lines: IntakeLine[];
  /** Lines whose timestamp is outside int64 in nanoseconds (the local instance cannot have stored them). */
  outOfRange: number;
}

/**
 * The lines numbered in `stored` (ascending; undefined = every line) for the intake: each with its table
 * and a nanosecond timestamp, converted from `unit` (`auto` guessed per line), or `stampNs` for the lines
 * that had none. Everything but the timestamp stays as it came, byte for byte.
 */
export function intakeLines(
  write: WriteLines,
  stored: readonly number[] | undefined,
  unit: TimeUnit,
  stampNs: string,
): IntakeBatch {
  const { lines: all, times } = write;
  const count = stored === undefined ? all.length : stored.length;
  const lines: IntakeLine[] = [];
  const tables = new TableReader();
  let outOfRange = 0;
  for (let k = 0; k < count; k++) {
    const i = stored === undefined ? k : stored[k]!;
    const line = all[i]!;
    const start = times[2 * i]!;
    const end = times[2 * i + 1]!;
    let out: string;
    if (start < 0) {
      out = `${end === line.length ? line : line.slice(0, end)} ${stampNs}`;
    } else if (unit === "ns") {
      out = line;
    } else {
      const timestamp = line.slice(start, end);
      const ns = toNanosText(timestamp, unit);
      if (ns === undefined) {
        outOfRange++;
        continue;
      }
      out = ns === timestamp ? line : line.slice(0, start) + ns + line.slice(end);
    }
    lines.push({ table: tables.tableOf(line), line: out });
  }
  return { lines, outOfRange };
}
