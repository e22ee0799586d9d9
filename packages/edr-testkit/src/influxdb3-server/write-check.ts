import { lineEnd, lineStart, parseLine } from "./line-protocol.js";
import { LineScan, scanLine } from "./line-scan.js";
import { timestampFits, toNs } from "./precision.js";
import { ShapeCache } from "./shape-cache.js";
import type { PendingSchema, Storage } from "./storage.js";

/** A refused line: its number, its text and why. */
export interface Failure {
  lineNumber: number;
  text: string;
  message: string;
  limit: boolean;
}

/** What checking a write against the schema gave, and for which version of the schema. */
export interface CheckedWrite {
  /** `Storage.schemaVersion` when checked: the result holds as long as it is unchanged. */
  schemaVersion: number;
  /** Set when the database cannot be created (the Core limit): nothing else was checked. */
  databaseLimit: string | undefined;
  /** The columns the accepted lines create. */
  pending: PendingSchema;
  /** `[start, end)` of each accepted line in the body, flattened. */
  bounds: number[];
  failures: Failure[];
}

/** Splits, parses and checks every line of a write against the schema; changes nothing. */
export function checkWrite(
  storage: Storage,
  write: { db: string; bytes: Buffer; unit: string },
): CheckedWrite {
  const { db, bytes, unit } = write;
  const pending: PendingSchema = new Map();
  const bounds: number[] = [];
  const failures: Failure[] = [];
  const checked = {
    schemaVersion: storage.schemaVersion,
    databaseLimit: undefined,
    pending,
    bounds,
    failures,
  };
  const databaseLimit = storage.databaseLimitError(db);
  if (databaseLimit !== undefined) return { ...checked, databaseLimit };
  const shapes = new ShapeCache(storage, db, pending);
  const scan = new LineScan();
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
  return checked;
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
