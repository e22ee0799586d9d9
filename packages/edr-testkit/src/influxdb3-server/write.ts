import { isUtf8 } from "node:buffer";
import { lineEnd, lineStart, parseLine } from "./line-protocol.js";
import { LineScan, scanLine } from "./line-scan.js";
import { timestampFits, toNs } from "./precision.js";
import { json, NO_CONTENT, type Reply } from "./reply.js";
import type { Segment } from "./segment.js";
import { ShapeCache } from "./shape-cache.js";
import type { PendingSchema, Storage } from "./storage.js";

/** Which write endpoint a request came in on. */
export type WriteApi = "v3" | "v2" | "v1";

const PRECISIONS: Record<WriteApi, Record<string, string>> = {
  v3: {
    auto: "auto",
    nanosecond: "ns",
    microsecond: "us",
    millisecond: "ms",
    second: "s",
    ns: "ns",
    us: "us",
    ms: "ms",
    s: "s",
  },
  v2: { ns: "ns", us: "us", ms: "ms", s: "s" },
  v1: { n: "ns", ns: "ns", u: "us", ms: "ms", s: "s" },
};
const DEFAULT_PRECISION: Record<WriteApi, string> = { v3: "auto", v2: "ns", v1: "ns" };
const ORIGINAL_LINE_BYTES = 20;

/** A prepared write: what to check and store once the WAL "flushes", or the error reply to send now. */
export type PreparedWrite =
  | { reply: Reply }
  | { db: string; bytes: Buffer; unit: string; acceptPartial: boolean; api: WriteApi; noSync: boolean };

/** Validates the parameters and the body's UTF-8; nothing is parsed or stored yet. */
export function prepareWrite(api: WriteApi, query: URLSearchParams, bytes: Buffer): PreparedWrite {
  const dbParam = api === "v2" ? "bucket" : "db";
  const db = query.get(dbParam);
  if (db === null || db === "") return { reply: error(api, 400, `missing the "${dbParam}" query parameter`) };
  const precisionText = query.get("precision") ?? DEFAULT_PRECISION[api];
  const unit = PRECISIONS[api][precisionText];
  if (unit === undefined) {
    const allowed = Object.keys(PRECISIONS[api]).join(", ");
    return { reply: error(api, 400, `invalid precision "${precisionText}": expected one of ${allowed}`) };
  }
  let acceptPartial = api === "v3";
  let noSync = false;
  if (api === "v3") {
    const ap = parseBool(query.get("accept_partial"), true);
    const ns = parseBool(query.get("no_sync"), false);
    if (ap === undefined)
      return {
        reply: error(
          api,
          400,
          `invalid accept_partial "${query.get("accept_partial")}": expected true or false`,
        ),
      };
    if (ns === undefined)
      return { reply: error(api, 400, `invalid no_sync "${query.get("no_sync")}": expected true or false`) };
    acceptPartial = ap;
    noSync = ns;
  }
  if (!isUtf8(bytes)) return { reply: error(api, 400, "the request body is not valid UTF-8") };
  // A leading byte order mark is not part of the first line (a TextDecoder would drop it too).
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return { db, bytes: bom ? bytes.subarray(3) : bytes, unit, acceptPartial, api, noSync };
}

/** A refused line: its number, its text and why. */
interface Failure {
  lineNumber: number;
  text: string;
  message: string;
  limit: boolean;
}

/** Parses the body, checks its lines against the schema and stores what may be stored; gives the reply. */
export function commitWrite(
  storage: Storage,
  write: Exclude<PreparedWrite, { reply: Reply }>,
  nowNs: bigint,
): Reply {
  const { db, bytes, unit, api } = write;
  const limit = storage.databaseLimitError(db);
  if (limit !== undefined) return error(api, 422, limit);
  const pending: PendingSchema = new Map();
  const shapes = new ShapeCache(storage, db, pending);
  const scan = new LineScan();
  const bounds: number[] = [];
  const failures: Failure[] = [];
  let lineNumber = 0;
  for (let start = 0; start <= bytes.length;) {
    // The fast path takes plain lines (see line-scan.ts); the strict parser decides everything else.
    const c = bytes[start];
    if (c !== 32 && c !== 9 && c !== 10 && c !== 35 && start < bytes.length) {
      const end = scanLine(bytes, start, scan);
      if (
        end >= 0 &&
        timestampFits(bytes, scan.timeStart, scan.timeEnd, unit) &&
        shapes.accept(bytes, scan)
      ) {
        lineNumber++;
        bounds.push(start, end);
        start = end + 1;
        continue;
      }
    }
    const end = lineEnd(bytes, start);
    const from = lineStart(bytes, start, end);
    start = end + 1;
    if (from < 0) continue;
    lineNumber++;
    const text = bytes.toString("utf8", from, end);
    const refused = checkLine(storage, db, text, unit, pending);
    if (refused === undefined) bounds.push(from, end);
    else failures.push({ lineNumber, text, ...refused });
  }
  const segment: Segment = { bytes, bounds, unit, nowNs };
  if (failures.length === 0) {
    storage.commit(db, pending, segment);
    return NO_CONTENT;
  }
  const status = failures.some((f) => f.limit) ? 422 : 400;
  const entries = failures.map((f) => ({
    error_message: f.message,
    line_number: f.lineNumber,
    original_line: cutUtf8(f.text, ORIGINAL_LINE_BYTES),
  }));
  if (api === "v2") {
    const first = failures[0]!;
    return json(status, {
      code: "invalid",
      message: `line protocol parsing error: line ${first.lineNumber}: ${first.message}`,
    });
  }
  if (!write.acceptPartial) {
    return json(status, { error: "line protocol parsing error", data: entries[0] });
  }
  storage.commit(db, pending, segment);
  return json(status, { error: "partial write of line protocol occurred", data: entries });
}

/** The strict path: parse, timestamp range, columns; why the line is refused, or undefined. */
function checkLine(
  storage: Storage,
  db: string,
  line: string,
  unit: string,
  pending: PendingSchema,
): { message: string; limit: boolean } | undefined {
  const parsed = parseLine(line);
  if ("error" in parsed) return { message: parsed.error, limit: false };
  const timeNs = toNs(parsed.timestamp, unit, 0n);
  if (typeof timeNs === "string") return { message: timeNs, limit: false };
  const fields = Object.entries(parsed.fields);
  const refused = storage.checkColumns(
    db,
    parsed.measurement,
    Object.keys(parsed.tags),
    fields.map(([key]) => key),
    fields.map(([, field]) => field.type),
    pending,
  );
  return refused === undefined ? undefined : { message: refused.error, limit: refused.limit };
}

/** An error body as the endpoint writes it: v2 `{code,message}`, else `{error}`. */
function error(api: WriteApi, status: number, message: string): Reply {
  return api === "v2" ? json(status, { code: "invalid", message }) : json(status, { error: message });
}

function parseBool(value: string | null, fallback: boolean): boolean | undefined {
  if (value === null) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  return undefined;
}

/** The first `max` bytes of `text` in UTF-8, cut back to a whole character. */
export function cutUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= max) return text;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so a character is never split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}
