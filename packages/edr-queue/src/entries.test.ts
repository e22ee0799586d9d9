import { isUtf8 } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseEntries, parseOwnLines, serializeEntries, type ByteStore, type QueueEntry } from "./entries.js";

/**
 * Strings rich in what JSON escaping is about: quotes, backslashes, every control, DEL, U+2028, two- and
 * three-byte characters, astral ones (surrogate pairs), lone and reversed surrogates, any UTF-16 unit, and
 * runs of plain ASCII long enough for the serializer's native path.
 */
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '"',
      "\\",
      '\\"',
      "\n",
      "\r",
      "\t",
      "\b",
      "\f",
      "\u0000",
      "\u001f",
      "\u007f",
      "é",
      "€",
      "\u2028",
      "\ufeff",
      "🚀",
      "\ud800",
      "\udbff",
      "\udc00",
      "\udfff",
      "\ude80\ud83d",
    ),
  },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
);
const text = fc.string({ unit, maxLength: 30 });
/** Tables repeat (runs of one table, as appends usually are), lines rarely do. */
const entriesArb = fc.array(
  fc.record({ table: fc.oneof(fc.constantFrom("cpu", "mem", 'we"ird\\', "Zürich🚀", ""), text), line: text }),
  { maxLength: 40 },
);
const expectedJsonLines = (entries: readonly QueueEntry[]): string =>
  entries.map((e) => JSON.stringify({ table: e.table, line: e.line }) + "\n").join("");

describe("serializeEntries", () => {
  it("writes exactly the bytes of JSON.stringify, well-formed UTF-8, for any strings", () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const out = serializeEntries(entries);
        expect(out.equals(Buffer.from(expectedJsonLines(entries), "utf8"))).toBe(true);
        expect(isUtf8(out)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("reuses and grows one buffer across calls, and copies the entries it is given", () => {
    const store: ByteStore = { buf: Buffer.alloc(3) };
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const copies: QueueEntry[] = new Array<QueueEntry>(entries.length);
        const out = serializeEntries(entries, store, copies);
        expect(out.buffer).toBe(store.buf.buffer);
        expect(out.toString("utf8")).toBe(expectedJsonLines(entries));
        expect(copies).toEqual(entries.map((e) => ({ table: e.table, line: e.line })));
        if (entries.length > 0) expect(copies[0]).not.toBe(entries[0]);
      }),
      { numRuns: 500 },
    );
  });

  it("matches JSON.stringify on long lines, mostly ASCII, with a special character anywhere", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme-ascii", minLength: 0, maxLength: 300 }),
        fc.nat(),
        fc.constantFrom('"', "\\", "\n", "\u0001", "é", "🚀", "\ud800", "\udfff"),
        (ascii, at, special) => {
          const k = ascii.length === 0 ? 0 : at % ascii.length;
          const entries = [{ table: "t", line: ascii.slice(0, k) + special + ascii.slice(k) }];
          expect(serializeEntries(entries).toString("utf8")).toBe(expectedJsonLines(entries));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("names the first entry that is not {table: string, line: string}", () => {
    const bad = [
      { table: "a", line: "x" },
      { table: "a", line: 1 },
    ] as unknown as QueueEntry[];
    expect(() => serializeEntries(bad)).toThrow("entries[1]: expected {table: string, line: string}");
    expect(() => serializeEntries([null] as unknown as QueueEntry[])).toThrow("entries[0]");
  });
});

/** What JSON.parse makes of JSON lines, line by line (the reading the queue must agree with). */
function reference(text: string): QueueEntry[] | "bad" {
  const out: QueueEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return "bad";
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) return "bad";
    const e = v as { table?: unknown; line?: unknown };
    if (typeof e.table !== "string" || typeof e.line !== "string") return "bad";
    out.push({ table: e.table, line: e.line });
  }
  return out;
}

const asEntries = (r: QueueEntry[] | string): QueueEntry[] | "bad" =>
  typeof r === "string" ? "bad" : r.map((e) => ({ table: e.table, line: e.line }));

/** Edits that take a line off the exact shape the queue writes, valid JSON or not. */
const edit = fc.oneof(
  fc.constant((s: string) => s.replace('":', '": ').replace(',"', ', "')), // Python's json.dumps spacing
  fc.constant((s: string) => {
    try {
      const o = JSON.parse(s) as QueueEntry;
      return JSON.stringify({ line: o.line, table: o.table }); // other key order
    } catch {
      return s;
    }
  }),
  fc.constant((s: string) => s.slice(0, -1) + ',"x":1}'), // an extra key
  fc.constant((s: string) => s.slice(0, -1) + " }"), // space before the brace
  fc.constant((s: string) => s + " "), // trailing space
  fc.constant((s: string) => s + "\r"), // CRLF
  fc.constant((s: string) => s.replace('"line":', '"line":1,"line":')), // a duplicate key
  fc.constant((s: string) => s.replace('{"table":"', '{"table":1,"table":"')),
  fc.constant((s: string) => s.replace('"line":"', '"line":"\t')), // a raw control in a string
  fc.constant((s: string) => s.replace('","line":"', '\\","line":"')), // the table's quote escaped
  fc.constant((s: string) => s.slice(0, -2) + '\\"}'), // the line's closing quote escaped
  fc.constant((s: string) => s.slice(0, -2) + '","y":"z"}'), // a quote that ends the line early
  fc.constant((s: string) => s.replace('"line":"', '"line":')), // the line not a string
  fc.constant((s: string) => s.replace("\\", "\\x")), // a bad escape, when there is one
  fc.constant((s: string) => s.replace("\\u", "\\u12")), // a short \u escape, when there is one
  fc.constant((s: string) => `[${s}]`),
  fc.constant(() => ""), // a blank line
  fc.constant(() => "null"),
  fc.tuple(fc.nat(), fc.constantFrom('"', "\\", "}", "{", ",", ":", " ", "\u0000")).map(
    ([at, c]) =>
      (s: string) =>
        s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1)),
  ),
  fc.nat().map((at) => (s: string) => s.slice(0, at % (s.length + 1)) + s.slice((at % (s.length + 1)) + 1)),
);

describe("parseEntries", () => {
  it("reads back exactly what serializeEntries wrote, on the fast path", () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const text = serializeEntries(entries).toString("utf8");
        expect(parseOwnLines(text)).toEqual(entries);
        expect(parseEntries(text)).toEqual(entries);
      }),
      { numRuns: 1000 },
    );
  });

  it("agrees with JSON.parse line by line on lines taken off the exact shape", () => {
    fc.assert(
      fc.property(
        entriesArb,
        fc.array(fc.tuple(fc.nat(), edit), { maxLength: 3 }),
        fc.boolean(),
        (entries, edits, finalNewline) => {
          const lines = entries.map((e) => JSON.stringify({ table: e.table, line: e.line }));
          for (const [at, f] of edits)
            if (lines.length > 0) lines[at % lines.length] = f(lines[at % lines.length]!);
          const text = lines.join("\n") + (finalNewline ? "\n" : "");
          const expected = reference(text);
          expect(asEntries(parseEntries(text))).toEqual(expected);
          const own = parseOwnLines(text);
          if (own !== undefined) expect(own).toEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("reads Python's json.dumps spacing, blank lines and a missing final newline", () => {
    expect(parseEntries('{"table": "a", "line": "x"}\n\n{"table": "b", "line": "y"}')).toEqual([
      { table: "a", line: "x" },
      { table: "b", line: "y" },
    ]);
  });

  it("names the first bad line", () => {
    expect(parseEntries('{"table":"a","line":"x"}\n{"table":1,"line":"y"}\n')).toBe(
      'line 2 is not {"table": string, "line": string}',
    );
    expect(parseEntries('{"table":"a","line":"x"}\nnope\n')).toBe('line 2 is not JSON: "nope"');
    expect(parseEntries('{"table":"a","line":"x"},{"table":"a","line":"x"}\n')).toBe(
      'line 1 is not JSON: "{\\"table\\":\\"a\\",\\"line\\":\\"x\\"},{\\"table\\":\\"a\\",\\"line\\":\\"x\\"}"',
    );
  });
});
