// One write as the received log keeps it: the body exactly as the client sent it (gzipped or not) and what
// turns it back into the lines the local instance stored (the precision, the stamp given to lines without a
// timestamp, which lines were stored). Keeping the body as it came costs no work before the client's answer;
// the lines are rebuilt from it by the same code that read it then (write-lines.ts), so they come out the same.
import { constants } from "node:buffer";
import type { QueueEntry } from "edr-queue";
import { toNanosText } from "../listen/line-times.js";
import { decodeBody, isRefusal } from "../listen/request-body.js";
import type { TimeUnit } from "../listen/write-endpoints.js";
import type { ReceivedWrite } from "../listen/write-intake.js";
import { intakeLines, scanWriteLines, type IntakeBatch } from "../listen/write-lines.js";

/** The particulars of a received write, kept as JSON in its queue entry's `table`. */
export interface RecordHeader {
  /** Format version. */
  v: 1;
  /** The request's Content-Encoding (gzip or identity), or null. */
  encoding: string | null;
  unit: TimeUnit;
  /** The stamp (in `unit`) given to lines without a timestamp; "" when every line had one. */
  stamp: string;
  /** Lines the local instance stored. */
  lines: number;
  /** The numbers of the lines stored, ascending, when not every line was; null: every line. */
  stored: number[] | null;
}

/** A received write as one queue entry: `table` holds its particulars as JSON, `line` its body in base64. */
export function toEntry(write: ReceivedWrite): QueueEntry {
  const header: RecordHeader = {
    v: 1,
    encoding: write.encoding ?? null,
    unit: write.unit,
    stamp: write.stamp,
    lines: storedCount(write),
    stored: write.stored === undefined ? null : [...write.stored],
  };
  return { table: JSON.stringify(header), line: write.wire.toString("base64") };
}

/** Lines of a received write the local instance stored. */
export function storedCount(write: ReceivedWrite): number {
  return write.stored?.length ?? write.lines.count;
}

/** How many lines a received-log entry holds, read from its particulars alone. */
export function entryLineCount(entry: QueueEntry): number {
  return parseHeader(entry).lines;
}

/**
 * The lines a received-log entry holds, as the write-through endpoint would have handed them over: each with
 * its table and a nanosecond timestamp. Throws on an entry that is not a received write (a damaged file).
 */
export async function linesOfEntry(entry: QueueEntry): Promise<IntakeBatch> {
  return linesOfDecoded(await decodeEntry(entry));
}

/** A received write's particulars and its body, decoded (gunzipped on the thread pool). */
export interface DecodedEntry {
  readonly header: RecordHeader;
  readonly decoded: Buffer;
}

/** Reads a received-log entry's particulars and decodes its body. */
export async function decodeEntry(entry: QueueEntry): Promise<DecodedEntry> {
  const header = parseHeader(entry);
  const wire = Buffer.from(entry.line, "base64");
  // The body passed the size limit when it came: no limit of ours applies again.
  const body = await decodeBody(wire, header.encoding ?? undefined, constants.MAX_LENGTH);
  if (isRefusal(body)) throw new Error(`a received write no longer decodes: ${body.message}`);
  return { header, decoded: body.decoded };
}

/** The lines of a decoded received write (the work of {@link linesOfEntry} done on the main thread). */
export function linesOfDecoded({ header, decoded }: DecodedEntry): IntakeBatch {
  const write = scanWriteLines(decoded);
  const stampNs = header.stamp === "" ? "" : toNanosText(header.stamp, header.unit);
  if (stampNs === undefined) throw new Error(`a received write has a bad stamp: ${header.stamp}`);
  return intakeLines(write, header.stored ?? undefined, header.unit, stampNs);
}

function parseHeader(entry: QueueEntry): RecordHeader {
  let header: unknown;
  try {
    header = JSON.parse(entry.table);
  } catch {
    header = undefined;
  }
  const h = header as Partial<RecordHeader> | undefined;
  if (
    h?.v !== 1 ||
    typeof h.lines !== "number" ||
    typeof h.unit !== "string" ||
    typeof h.stamp !== "string"
  ) {
    throw new Error(`not a received write: ${entry.table.slice(0, 100)}`);
  }
  return h as RecordHeader;
}
