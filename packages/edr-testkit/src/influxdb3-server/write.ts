import { isUtf8 } from "node:buffer";
import { json, NO_CONTENT, type Reply } from "./reply.js";
import type { Segment } from "./segment.js";
import type { Storage } from "./storage.js";
import { checkWrite, type CheckedWrite } from "./write-check.js";

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

/**
 * Checks the body against the schema and stores what may be stored; gives the reply. `checked` is what
 * `checkWrite` gave earlier (before the WAL delay): it is used as it is when the schema has not changed
 * since, and redone otherwise, so the answer is always the one for the schema at this moment.
 */
export function commitWrite(
  storage: Storage,
  write: Exclude<PreparedWrite, { reply: Reply }>,
  nowNs: bigint,
  checked?: CheckedWrite,
): Reply {
  const { db, api } = write;
  if (checked === undefined || checked.schemaVersion !== storage.schemaVersion)
    checked = checkWrite(storage, write);
  if (checked.databaseLimit !== undefined) return error(api, 422, checked.databaseLimit);
  const { pending, bounds, failures } = checked;
  const segment: Segment = { bytes: write.bytes, bounds, unit: write.unit, nowNs };
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
