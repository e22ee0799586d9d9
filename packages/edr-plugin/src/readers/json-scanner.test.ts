import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExactNumber, JsonScanner, JsonSyntaxError } from "./json-scanner.js";

/**
 * Whether the scanner's value is what `JSON.parse` gives, except that each number is an ExactNumber whose
 * text reads as the same double: same structure, same strings, same keys (own, `__proto__` included).
 */
function sameAsJsonParse(scanned: unknown, parsed: unknown): boolean {
  if (typeof parsed === "number") {
    return scanned instanceof ExactNumber && Object.is(Number(scanned.value), parsed);
  }
  if (parsed === null || typeof parsed !== "object") return Object.is(scanned, parsed);
  if (Array.isArray(parsed)) {
    return (
      Array.isArray(scanned) &&
      scanned.length === parsed.length &&
      parsed.every((item, i) => sameAsJsonParse(scanned[i], item))
    );
  }
  if (typeof scanned !== "object" || scanned === null || Array.isArray(scanned)) return false;
  if (scanned instanceof ExactNumber) return false;
  const a = Object.keys(scanned);
  const b = Object.keys(parsed);
  return (
    Object.getPrototypeOf(scanned) === Object.prototype &&
    a.length === b.length &&
    a.every((key, i) => key === b[i]) &&
    b.every((key) =>
      sameAsJsonParse((scanned as Record<string, unknown>)[key], (parsed as Record<string, unknown>)[key]),
    )
  );
}

const parseObject = (text: string): Record<string, unknown> =>
  new JsonScanner().parseObject(Buffer.from(text));

function outcome(parse: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: parse() };
  } catch {
    return { ok: false };
  }
}

/** Both parsers accept `text` with the same value, or both refuse it. */
function agreesWithJsonParse(text: string): boolean {
  const ours = outcome(() => new JsonScanner().parse(Buffer.from(text)));
  const theirs = outcome((): unknown => JSON.parse(text));
  if (ours.ok !== theirs.ok) return false;
  return !ours.ok || (theirs.ok && sameAsJsonParse(ours.value, theirs.value));
}

const flatValue = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.constantFrom('"', "\\", "\n", "\u0000", "\u2028", "é", "漢字", "😀", "a\"b'c\\d\te"),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const flatKey = fc.oneof(
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.constantFrom("time", "host", "usage", "__proto__", 'a"b', "x\\y", "constructor", "10", ""),
);
const flatRow = fc.dictionary(flatKey, flatValue, { maxKeys: 8 });

describe("JsonScanner", () => {
  it("keeps numbers as the exact text the server printed", () => {
    const row = parseObject(
      '{"i":9223372036854775807,"n":-9223372036854775808,"u":18446744073709551615,"f":21.0,"e":-1.5E+300,"z":-0}',
    );
    expect(row).toEqual({
      i: new ExactNumber("9223372036854775807"),
      n: new ExactNumber("-9223372036854775808"),
      u: new ExactNumber("18446744073709551615"),
      f: new ExactNumber("21.0"),
      e: new ExactNumber("-1.5E+300"),
      z: new ExactNumber("-0"),
    });
    expect(row["i"]).toBeInstanceOf(ExactNumber);
  });

  it("reads strings with escapes, unicode and surrogate pairs as JSON.parse does", () => {
    const text = String.raw`{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 漢字","t":"2025-04-18T14:02:45.331"}`;
    expect(parseObject(text)).toEqual(JSON.parse(text));
  });

  it("makes __proto__ an own key, never the prototype", () => {
    const row = parseObject('{"__proto__":"x","a":1}');
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row)).toEqual(["__proto__", "a"]);
    expect(Object.getOwnPropertyDescriptor(row, "__proto__")?.value).toBe("x");
  });

  it("keeps the last of repeated keys, as JSON.parse does", () => {
    expect(parseObject('{"a":1,"a":"two"}')).toEqual({ a: "two" });
  });

  it("reuses keys across rows without confusing keys that differ", () => {
    const scanner = new JsonScanner();
    const lines = [
      '{"host":"a","usage":1}',
      '{"hostname":"b","usage":2}',
      '{"hos":"c","usagf":3}',
      '{"h\\u006fst":"d","usage":4}',
      '{"host":"e"}',
      '{"usage":5,"host":"f"}',
    ];
    for (const line of lines) {
      expect(sameAsJsonParse(scanner.parseObject(Buffer.from(line)), JSON.parse(line))).toBe(true);
    }
  });

  it("parses one line of a larger text, and nothing beyond it", () => {
    const bytes = Buffer.from('{"a":1}\n{"b":2}\n');
    expect(new JsonScanner().parseObject(bytes, 8, 15)).toEqual({ b: new ExactNumber("2") });
    expect(() => new JsonScanner().parseObject(bytes, 0, 6)).toThrow(JsonSyntaxError);
  });

  it.each([
    ["a row cut short", '{"a":1,"b":"x', "unterminated string"],
    ["an array instead of an object", "[1]", "expected a JSON object"],
    ["a bare value after the object", '{"a":1} 2', "expected the end"],
    ["a leading zero", '{"a":01}', 'expected "," or "}"'],
    ["a dot without digits", '{"a":1.}', "expected a digit after the decimal point"],
    ["a raw newline in a string", '{"a":"x\ny"}', "control character"],
    ["a bad escape", '{"a":"\\x"}', "invalid escape"],
    ["a short \\u escape", '{"a":"\\u12"}', "invalid \\u escape"],
    ["a single-quoted key", "{'a':1}", "expected a quoted key"],
  ])("refuses %s with the offset", (_, text, message) => {
    expect(() => parseObject(text)).toThrow(message);
    try {
      parseObject(text);
    } catch (error) {
      expect(error).toBeInstanceOf(JsonSyntaxError);
      expect((error as JsonSyntaxError).offset).toBeGreaterThanOrEqual(0);
    }
  });

  it("agrees with JSON.parse on any JSON value, compact or indented", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ stringUnit: "binary" }),
        fc.constantFrom(undefined, 1, "\t"),
        (value, indent) => {
          expect(agreesWithJsonParse(JSON.stringify(value, null, indent))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("agrees with JSON.parse on rows of one answer read by one scanner", () => {
    fc.assert(
      fc.property(fc.array(flatRow, { maxLength: 12 }), (rows) => {
        const scanner = new JsonScanner();
        for (const row of rows) {
          const line = JSON.stringify(row);
          expect(sameAsJsonParse(scanner.parseObject(Buffer.from(line)), JSON.parse(line))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("hands out a short string seen before again, and never one that only looks like it", () => {
    // Values from a two-letter alphabet: many repeats, many of the same length, slots shared.
    const shortText = fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 17 });
    const row = fc.dictionary(fc.constantFrom("host", "rack", "region", "status"), shortText, {
      minKeys: 1,
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 60 }), (rows) => {
        const scanner = new JsonScanner();
        for (const r of rows) {
          const line = JSON.stringify(r);
          expect(scanner.parseObject(Buffer.from(line))).toEqual(JSON.parse(line));
        }
      }),
      { numRuns: 200 },
    );
    // More distinct values than the table has slots, then the first ones again.
    const scanner = new JsonScanner();
    const values = Array.from({ length: 10_000 }, (_, i) => `h${i}`);
    for (const value of [...values, ...values.slice(0, 100), "é", "a\\b", "x".repeat(17)]) {
      const line = JSON.stringify({ host: value });
      expect(scanner.parseObject(Buffer.from(line))).toEqual({ host: value });
    }
  });

  it("reads bytes that are not UTF-8 as U+FFFD, as a UTF-8 decoder does", () => {
    const bytes = Buffer.concat([Buffer.from('{"s":"a'), Buffer.from([0xff, 0xc3]), Buffer.from('b"}')]);
    expect(new JsonScanner().parseObject(bytes)).toEqual(JSON.parse(new TextDecoder().decode(bytes)));
  });

  it("keeps integers beyond 2^53 digit for digit", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), (n) => {
        const row = parseObject(`{"v":${n}}`);
        expect(row["v"]).toEqual(new ExactNumber(n.toString()));
      }),
    );
  });

  it("accepts and refuses exactly what JSON.parse does on near-JSON text", () => {
    const alphabet = fc.constantFrom(...'{}[]",:0123456789.-+eEtrufalsn \t\n\r\\u/x'.split(""));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 24 }), (text) => {
        expect(agreesWithJsonParse(text)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("accepts and refuses exactly what JSON.parse does on every prefix of a row", () => {
    fc.assert(
      fc.property(flatRow, (row) => {
        const text = JSON.stringify(row);
        for (let end = 0; end <= text.length; end++) {
          expect(agreesWithJsonParse(text.slice(0, end))).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});
