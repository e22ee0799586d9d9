import type { StoredPoint } from "../stored-point.js";
import { parseBody, type BodyLine } from "./line-protocol.js";
import { json, NO_CONTENT, type Reply } from "./reply.js";
import type { PendingSchema, Storage } from "./storage.js";

/** Which write endpoint a request came in on. */
export type WriteApi = "v3" | "v2" | "v1";

const NS_PER: Record<string, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n };
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
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const ORIGINAL_LINE_BYTES = 20;

/** A prepared write: what to store once the WAL "flushes", or the error reply to send now. */
export type PreparedWrite =
  | { reply: Reply }
  | { db: string; lines: BodyLine[]; unit: string; acceptPartial: boolean; api: WriteApi; noSync: boolean };

/** Validates the parameters and parses the body of a write; nothing is stored yet. */
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
  let body: string;
  try {
    body = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { reply: error(api, 400, "the request body is not valid UTF-8") };
  }
  return { db, lines: parseBody(body), unit, acceptPartial, api, noSync };
}

/** Checks the parsed lines against the schema and stores what may be stored; gives the reply. */
export function commitWrite(
  storage: Storage,
  write: Exclude<PreparedWrite, { reply: Reply }>,
  nowNs: bigint,
): Reply {
  const { db, lines, api } = write;
  const limit = storage.databaseLimitError(db);
  if (limit !== undefined) return error(api, 422, limit);
  const pending: PendingSchema = new Map();
  const points: StoredPoint[] = [];
  const failures: { line: BodyLine; message: string; limit: boolean }[] = [];
  for (const line of lines) {
    const parsed = line.parsed;
    if ("error" in parsed) {
      failures.push({ line, message: parsed.error, limit: false });
      continue;
    }
    const timeNs = toNs(parsed.timestamp, write.unit, nowNs);
    if (typeof timeNs === "string") {
      failures.push({ line, message: timeNs, limit: false });
      continue;
    }
    const checked = storage.check(db, parsed, timeNs, pending);
    if ("error" in checked) failures.push({ line, message: checked.error, limit: checked.limit });
    else points.push(checked.point);
  }
  if (failures.length === 0) {
    storage.commit(db, pending, points);
    return NO_CONTENT;
  }
  const status = failures.some((f) => f.limit) ? 422 : 400;
  const entries = failures.map((f) => ({
    error_message: f.message,
    line_number: f.line.lineNumber,
    original_line: cutUtf8(f.line.text, ORIGINAL_LINE_BYTES),
  }));
  if (api === "v2") {
    const first = failures[0]!;
    return json(status, {
      code: "invalid",
      message: `line protocol parsing error: line ${first.line.lineNumber}: ${first.message}`,
    });
  }
  if (!write.acceptPartial) {
    return json(status, { error: "line protocol parsing error", data: entries[0] });
  }
  storage.commit(db, pending, points);
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

/** Converts a timestamp to ns; "auto" guesses the unit per line from its magnitude, as InfluxDB 3 does. */
function toNs(timestamp: bigint | undefined, unit: string, nowNs: bigint): bigint | string {
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

/** The first `max` bytes of `text` in UTF-8, cut back to a whole character. */
export function cutUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= max) return text;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so a character is never split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}
