// Random line-protocol bodies for the property tests of the write path (not a test itself).
import fc from "fast-check";

// Bodies built from the characters that matter to splitting and parsing, mostly well-formed so that the
// fast path is taken often, with every kind of damage mixed in.
const char = fc.constantFrom(
  ...["a", "b", "1", "_", ",", "=", '"', "\\", " ", "\t", "\n", "\r", "#", "-", "."],
  ...["é", "😀"], // two and four UTF-8 bytes, one and two UTF-16 units
);
const name = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("m", "cpu", "host", "a", "b", "1", "2", "__proto__", "time") },
  { weight: 1, arbitrary: fc.string({ unit: char, maxLength: 4 }) },
);
const value = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("1", "-1.5", "0.5", "1e3", "-1.2E+78", "1e400", "007.50", "1.") },
  { weight: 1, arbitrary: fc.constantFrom(".5", "-", "1.5x", "1e", "1e+", "--1", "1.5.5", "0x10", "1_0") },
  { weight: 2, arbitrary: fc.constantFrom("12i", "-12i", "999999999999999999i", "9223372036854775808i") },
  { weight: 2, arbitrary: fc.constantFrom("12u", "-1u", "18446744073709551615u", "0000000000000000000001i") },
  { weight: 2, arbitrary: fc.constantFrom("t", "T", "true", "True", "TRUE", "f", "false", "FALSE", "tRue") },
  { weight: 1, arbitrary: fc.constantFrom("yes", "NaN", "1i5", "18446744073709551616u", "Infinity") },
  { weight: 3, arbitrary: fc.string({ unit: char, maxLength: 5 }).map((s) => `"${s}"`) },
  { weight: 1, arbitrary: fc.string({ unit: char, maxLength: 3 }) },
);
const timestamp = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    " 1",
    " -5",
    " 1700000000000000000",
    " 9223372036854775807",
    " 9223372036854775808",
  ),
  fc.constantFrom(" -9223372036854775808", " 00000000000000000000001", " 12 ", " 1\t", " x", " -", "  \t"),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map((t) => ` ${t}`),
);
const line = fc
  .tuple(
    name,
    fc.array(fc.tuple(name, name), { maxLength: 3 }),
    fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 4 }),
    timestamp,
    fc.constantFrom("", "", "", " ", "  ", "\t", "#"),
  )
  .map(
    ([m, tags, fields, ts, lead]) =>
      `${lead}${m}${tags.map(([k, v]) => `,${k}=${v}`).join("")} ${fields.map(([k, v]) => `${k}=${v}`).join(",")}${ts}`,
  );
/** Bodies of up to 6 lines, separated by newlines, blank lines and CRLF. */
export const lineProtocolBody = fc
  .array(fc.tuple(line, fc.constantFrom("\n", "\n", "\n", "\n\n", "\n \t", "\r\n")), { maxLength: 6 })
  .map((parts) => parts.map(([l, sep]) => l + sep).join(""));

/**
 * Well-formed bodies over two tables and three field names with values of every type: writes that mostly
 * pass, create columns and conflict with each other's columns.
 */
export const plainBody = fc
  .array(
    fc
      .tuple(
        fc.constantFrom("m", "n"),
        fc.constantFrom("", ",t=a", ",t=b", ",u=1"),
        fc.array(fc.tuple(fc.constantFrom("a", "b", "u"), fc.constantFrom("1", "2i", "3u", '"s"', "true")), {
          minLength: 1,
          maxLength: 2,
        }),
        fc.constantFrom("", " 1", " 2"),
      )
      .map(([m, tags, fields, ts]) => `${m}${tags} ${fields.map(([k, v]) => `${k}=${v}`).join(",")}${ts}`),
    { minLength: 1, maxLength: 4 },
  )
  .map((lines) => lines.join("\n"));
