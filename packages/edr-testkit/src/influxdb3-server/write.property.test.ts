import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseLine } from "./line-protocol.js";
import { toNs } from "./precision.js";
import { json, NO_CONTENT, type Reply } from "./reply.js";
import { Storage, type PendingSchema } from "./storage.js";
import { lineProtocolBody, plainBody } from "./test-arbitraries.js";
import { commitWrite, cutUtf8, prepareWrite, type PreparedWrite, type WriteApi } from "./write.js";
import { checkWrite, type CheckedWrite } from "./write-check.js";

/** splitBody as it was before the write path read bytes: over the decoded text, char by char. */
function referenceSplit(body: string): { lineNumber: number; text: string }[] {
  const lines: { lineNumber: number; text: string }[] = [];
  let start = 0;
  let lineNumber = 0;
  let quoted = false;
  let fields = false;
  let equals = 0;
  let commas = 0;
  const push = (end: number): void => {
    let from = start;
    while (from < end && " \t\n".includes(body[from]!)) from++;
    if (from === end || body[from] === "#") return;
    lines.push({ lineNumber: ++lineNumber, text: body.slice(from, end) });
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "\\") i++;
    else if (c === " ") fields = true;
    else if (fields && !quoted && c === "=") equals++;
    else if (fields && !quoted && c === ",") commas++;
    else if (fields && c === '"' && equals > commas) quoted = !quoted;
    else if (c === "\n" && !quoted) {
      push(i);
      start = i + 1;
      fields = false;
      equals = 0;
      commas = 0;
    }
  }
  push(body.length);
  return lines;
}

/**
 * The write path without its fast path, as it was before there was one: the body decoded, every line split
 * as above, parsed by parseLine and checked in `Object.keys` order.
 */
function referenceWrite(storage: Storage, write: Exclude<PreparedWrite, { reply: Reply }>, nowNs: bigint) {
  const { db, api } = write;
  const limit = storage.databaseLimitError(db);
  if (limit !== undefined) throw new Error("the generated writes stay under the database limit");
  const pending: PendingSchema = new Map();
  const accepted: string[] = [];
  const failures: { lineNumber: number; text: string; message: string; limit: boolean }[] = [];
  for (const { lineNumber, text } of referenceSplit(write.bytes.toString("utf8"))) {
    const parsed = parseLine(text);
    if ("error" in parsed) {
      failures.push({ lineNumber, text, message: parsed.error, limit: false });
      continue;
    }
    const timeNs = toNs(parsed.timestamp, write.unit, nowNs);
    if (typeof timeNs === "string") {
      failures.push({ lineNumber, text, message: timeNs, limit: false });
      continue;
    }
    const fields = Object.entries(parsed.fields);
    const refused = storage.checkColumns(
      db,
      parsed.measurement,
      Object.keys(parsed.tags),
      fields.map(([k]) => k),
      fields.map(([, f]) => f.type),
      pending,
    );
    if (refused === undefined) accepted.push(text);
    else failures.push({ lineNumber, text, message: refused.error, limit: refused.limit });
  }
  const bounds: number[] = [];
  let offset = 0;
  for (const text of accepted) {
    const length = Buffer.byteLength(text);
    bounds.push(offset, offset + length);
    offset += length + 1;
  }
  const segment = { bytes: Buffer.from(accepted.join("\n")), bounds, unit: write.unit, nowNs };
  if (failures.length === 0) {
    storage.commit(db, pending, segment);
    return NO_CONTENT;
  }
  const status = failures.some((f) => f.limit) ? 422 : 400;
  const entries = failures.map((f) => ({
    error_message: f.message,
    line_number: f.lineNumber,
    original_line: cutUtf8(f.text, 20),
  }));
  if (api === "v2") {
    const first = failures[0]!;
    const message = `line protocol parsing error: line ${first.lineNumber}: ${first.message}`;
    return json(status, { code: "invalid", message });
  }
  if (!write.acceptPartial) return json(status, { error: "line protocol parsing error", data: entries[0] });
  storage.commit(db, pending, segment);
  return json(status, { error: "partial write of line protocol occurred", data: entries });
}

const write = fc.record({
  api: fc.constantFrom<WriteApi>("v3", "v2", "v1"),
  db: fc.constantFrom("a", "b"),
  precision: fc.constantFrom("ns", "us", "ms", "s", "auto", undefined),
  acceptPartial: fc.boolean(),
  body: fc.oneof(lineProtocolBody, plainBody),
  // Checked this many writes before its own commit, as a write waiting for its WAL delay is (0: at commit).
  lag: fc.nat({ max: 3 }),
});

function state(storage: Storage) {
  return storage.databaseNames().map((db) => ({
    db,
    tables: storage.tableNames(db).map((t) => [t, [...storage.columns(db, t)!]]),
    points: storage.points(db),
  }));
}

describe("commitWrite", () => {
  it("answers and stores exactly what the strict path alone would, over sequences of writes, also when checked before earlier writes landed", () => {
    fc.assert(
      fc.property(fc.array(write, { minLength: 1, maxLength: 4 }), (writes) => {
        const fast = new Storage();
        const strict = new Storage();
        const prepared = writes.map((w) => {
          const query = new URLSearchParams({ [w.api === "v2" ? "bucket" : "db"]: w.db });
          if (w.precision !== undefined && !(w.api !== "v3" && w.precision === "auto"))
            query.set("precision", w.api === "v1" && w.precision === "us" ? "u" : w.precision);
          if (w.api === "v3") query.set("accept_partial", String(w.acceptPartial));
          const p = prepareWrite(w.api, query, Buffer.from(w.body));
          if ("reply" in p) throw new Error(p.reply.body);
          return p;
        });
        const early: (CheckedWrite | undefined)[] = [];
        prepared.forEach((p, i) => {
          prepared.forEach((q, j) => {
            if (j >= i && writes[j]!.lag > 0 && Math.max(0, j - writes[j]!.lag) === i)
              early[j] = checkWrite(fast, q);
          });
          expect(commitWrite(fast, p, 42n, early[i])).toEqual(referenceWrite(strict, p, 42n));
        });
        expect(state(fast)).toEqual(state(strict));
      }),
      { numRuns: 1500 },
    );
  });
});
