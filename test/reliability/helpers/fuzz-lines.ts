// Random and near-valid line protocol for the bad-input fuzzer: valid lines (escaped names, every field type,
// timestamps in the request's precision or none) and the same lines mutated the ways a broken client or a
// damaged file would: a character dropped or doubled, an escape, a quote or a newline put in, numbers out of
// range, timestamps that are not, unicode, NUL bytes, comments and blank lines. Which line the servers accept
// is not decided here: the local instance decides, and the test checks that the remote got exactly that.
import type { Rng } from "./seed.js";

/** The precisions a fuzzed request uses (v3 spellings), with a timestamp in that unit near `nowMs`. */
export const FUZZ_PRECISIONS = ["nanosecond", "auto", "millisecond", "second", "microsecond"] as const;
export type FuzzPrecision = (typeof FUZZ_PRECISIONS)[number];

const MEASUREMENTS = ["cpu", "mem", "disk io", "net,if", "ü漢", "m=eq"];
const TAG_KEYS = ["host", "region", "dc name", "k,ey", "k=v"];
const TAG_VALUES = ["a", "b c", "d,e", "f=g", "ü 漢", "x\\y", "long-" + "z".repeat(40)];
const SPECIALS = [
  "\\",
  " ",
  ",",
  "=",
  '"',
  "\n",
  "#",
  "\0",
  "\t",
  "\r",
  "é",
  "漢",
  "🙂",
  "\u2028",
  "\ufeff",
  "'",
  "i",
  "u",
  ".",
  "-",
  "e",
];
const BAD_NUMBERS = [
  "1e400",
  "-1e400",
  "99999999999999999999i",
  "9223372036854775807i",
  "9223372036854775808i",
  "-9223372036854775808i",
  "-9223372036854775809i",
  "18446744073709551615u",
  "18446744073709551616u",
  "-1u",
  "NaN",
  "nan",
  "inf",
  "-Infinity",
  "-0",
  "1.",
  ".5",
  "+1",
  "0x10",
  "1_000",
  "1e5",
  "1E-5",
  "tRuE",
  "",
  '"unterminated',
  '"a\\"b"',
  '"with\nnewline"',
  '"trailing backslash\\\\"',
];
const BAD_TIMES = [
  "abc",
  "1.5",
  "99999999999999999999",
  "-1",
  "0",
  "9223372036854775807",
  "9223372036854775808",
  "-9223372036854775808",
  "-9223372036854775809",
  "1700000000 1700000000",
  "1e9",
  "+1700000000",
  "0001700000000",
  "",
];

function escapeMeasurement(name: string): string {
  return name.replace(/[, ]/g, (c) => `\\${c}`);
}
function escapeKey(name: string): string {
  return name.replace(/[,= ]/g, (c) => `\\${c}`);
}

/** A timestamp in `precision`'s unit, up to a minute before `nowMs`. */
export function timestampIn(precision: FuzzPrecision, nowMs: number, rng: Rng): string {
  const ms = BigInt(nowMs - rng.between(0, 60_000));
  const sub = BigInt(rng.between(0, 999_999));
  switch (precision) {
    case "nanosecond":
      return String(ms * 1_000_000n + sub);
    case "microsecond":
      return String(ms * 1_000n + sub / 1_000n);
    case "millisecond":
      return String(ms);
    case "second":
      return String(ms / 1_000n);
    case "auto":
      // Each magnitude the auto guess tells apart.
      return rng.pick([String(ms / 1_000n), String(ms), String(ms * 1_000n), String(ms * 1_000_000n + sub)]);
  }
}

/** One valid line; `stamp` false leaves the timestamp out (edr stamps it). */
export function validLine(rng: Rng, precision: FuzzPrecision, nowMs: number, stamp = true): string {
  let line = escapeMeasurement(rng.pick(MEASUREMENTS));
  const keys = TAG_KEYS.filter(() => rng.chance(0.5));
  for (const key of keys) line += `,${escapeKey(key)}=${escapeKey(rng.pick(TAG_VALUES))}`;
  // Field names fix their type, so type conflicts come from mutations only.
  const fields: string[] = [];
  if (rng.chance(0.7)) fields.push(`f=${(rng.float() * 2000 - 1000).toFixed(rng.between(0, 6))}`);
  if (rng.chance(0.4)) fields.push(`i=${rng.between(-1_000_000, 1_000_000)}i`);
  if (rng.chance(0.3)) fields.push(`u=${rng.between(0, 1_000_000)}u`);
  if (rng.chance(0.3)) {
    const text = rng.pick(["ok", 'say "hi"', "back\\slash", "multi\nline", "ü漢🙂", "a,b=c d", ""]);
    fields.push(`s="${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
  }
  if (rng.chance(0.3)) fields.push(`b=${rng.pick(["t", "f", "true", "false", "T", "F", "TRUE", "False"])}`);
  if (fields.length === 0) fields.push(`f=${rng.between(0, 100)}`);
  line += ` ${fields.join(",")}`;
  if (stamp) line += ` ${timestampIn(precision, nowMs, rng)}`;
  return line;
}

/** `line` with one to three mutations. */
export function mutateLine(line: string, rng: Rng): string {
  let out = line;
  const times = rng.between(1, 3);
  for (let t = 0; t < times; t++) {
    const at = rng.between(0, Math.max(0, out.length - 1));
    switch (rng.between(0, 9)) {
      case 0: // drop a character
        out = out.slice(0, at) + out.slice(at + 1);
        break;
      case 1: // double a character
        out = out.slice(0, at + 1) + out.slice(at);
        break;
      case 2: // put a special character in
      case 3:
        out = out.slice(0, at) + rng.pick(SPECIALS) + out.slice(at);
        break;
      case 4: {
        // a field value out of range or not a number at all
        const eq = out.indexOf("=", out.indexOf(" ") + 1);
        if (eq < 0) break;
        let end = eq + 1;
        while (end < out.length && out[end] !== "," && out[end] !== " ") end++;
        out = out.slice(0, eq + 1) + rng.pick(BAD_NUMBERS) + out.slice(end);
        break;
      }
      case 5: {
        // a timestamp that is not one
        const space = out.lastIndexOf(" ");
        out = (space > 0 ? out.slice(0, space) : out) + " " + rng.pick(BAD_TIMES);
        break;
      }
      case 6: // a NUL byte
        out = out.slice(0, at) + "\0" + out.slice(at);
        break;
      case 7: // no timestamp (edr stamps it), or trailing whitespace
        out = rng.chance(0.5) ? out.replace(/ -?\d+$/, "") : out + rng.pick([" ", "\t", "  "]);
        break;
      case 8: // an escape in the wrong place
        out = out.slice(0, at) + "\\" + out.slice(at);
        break;
      case 9: // a quote, balanced or not
        out = out.slice(0, at) + rng.pick(['"', '""', '\\"', "'"]) + out.slice(at);
        break;
    }
  }
  return out;
}

/** A request body: `count` lines, each valid, mutated, or blank / a comment, joined by newlines. */
export function fuzzBody(
  rng: Rng,
  precision: FuzzPrecision,
  nowMs: number,
  count: number,
  mutateShare: number,
): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rng.float();
    if (roll < 0.03) lines.push(rng.pick(["", "   ", "# a comment", "#", "\t# indented comment"]));
    else {
      const line = validLine(rng, precision, nowMs, !rng.chance(0.1));
      lines.push(roll < 0.03 + mutateShare ? mutateLine(line, rng) : line);
    }
  }
  return lines.join(rng.chance(0.1) ? "\r\n" : "\n") + (rng.chance(0.3) ? "\n" : "");
}
