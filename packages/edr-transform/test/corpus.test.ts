// edr-transform's parser against InfluxDB 3 Core's own, case by case: the corpus of test/fixtures (see its README).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { splitLines, tryParseLines, type FieldValue } from "../src/index.js";

interface CorpusField {
  type: FieldValue["type"];
  value: string;
}
type CorpusResult =
  | {
      ok: true;
      measurement: string;
      tags: [string, string][];
      fields: [string, CorpusField][];
      timestamp: string | null;
    }
  | { ok: false; error: string };

const cases = readFileSync(new URL("./fixtures/influxdb3-lp-corpus.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as { body: string; results: CorpusResult[] });

/** A field as the corpus spells it, from one of ours (floats compared as numbers: the spellings differ). */
function same(ours: FieldValue, theirs: CorpusField): boolean {
  if (ours.type !== theirs.type) return false;
  switch (ours.type) {
    case "float":
      return (
        ours.value ===
        (theirs.value === "inf" ? Infinity : theirs.value === "-inf" ? -Infinity : Number(theirs.value))
      );
    case "integer":
    case "unsigned":
      return ours.value === BigInt(theirs.value);
    case "boolean":
      return String(ours.value) === theirs.value;
    case "string":
      return ours.value === theirs.value;
  }
}

/**
 * Where edr refuses on purpose what Core's parser takes, each with its reason (counted and dead-lettered by the
 * replicator, never lost silently): a float that overflows to infinity (Core stores it as inf; no line can carry
 * it back), a field repeated in one line (Core's parser takes it, Core's write path then refuses it: "multiple
 * instances of 'f' field found"), and a tag repeated in one line (Core stores it as it comes; which value wins
 * is not said).
 */
function refusedOnPurpose(reason: string | undefined, expected: CorpusResult): boolean {
  if (!expected.ok || reason === undefined) return false;
  if (/float out of range/.test(reason))
    return expected.fields.some(([, f]) => f.type === "float" && /inf$/.test(f.value));
  const repeats = (keys: string[]) => new Set(keys).size < keys.length;
  if (/^.*field ".*" appears twice/.test(reason)) return repeats(expected.fields.map(([key]) => key));
  // A tag repeated in one line: Core stores it as it comes (which value wins is not said); edr refuses it.
  if (/^.*tag ".*" appears twice/.test(reason)) return repeats(expected.tags.map(([key]) => key));
  return false;
}

/** Entries sorted by key: JavaScript objects list integer-like keys first, whatever order they were written in. */
function sorted<T>(entries: [string, T][]): [string, T][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("the InfluxDB 3 Core parser corpus", () => {
  it(`agrees on every line of its ${cases.length} bodies: the same lines, accepted or refused, with the same point`, () => {
    const disagreements: string[] = [];
    let onPurpose = 0;
    for (const { body, results } of cases) {
      const lines = splitLines(body);
      if (lines.length !== results.length) {
        disagreements.push(`${JSON.stringify(body)}: ${lines.length} lines, Core found ${results.length}`);
        continue;
      }
      lines.forEach((line, i) => {
        const expected = results[i]!;
        const parsed = tryParseLines(line);
        const point = parsed.points[0];
        if (!expected.ok) {
          if (point !== undefined)
            disagreements.push(`${JSON.stringify(line)}: accepted, Core refused it (${expected.error})`);
          return;
        }
        if (point === undefined) {
          const reason = parsed.errors[0]?.message;
          if (refusedOnPurpose(reason, expected)) onPurpose++;
          else disagreements.push(`${JSON.stringify(line)}: refused (${reason}), Core accepted it`);
          return;
        }
        const tags = sorted(Object.entries(point.tags));
        const fields = sorted(Object.entries(point.fields));
        const theirs = sorted(expected.fields);
        const agrees =
          point.measurement === expected.measurement &&
          JSON.stringify(tags) === JSON.stringify(sorted(expected.tags)) &&
          fields.length === theirs.length &&
          fields.every(([key, value], f) => key === theirs[f]![0] && same(value, theirs[f]![1])) &&
          (point.timestamp === undefined
            ? expected.timestamp === null
            : String(point.timestamp) === expected.timestamp);
        if (!agrees) disagreements.push(`${JSON.stringify(line)}: read differently from Core`);
      });
    }
    expect(disagreements.slice(0, 20)).toEqual([]);
    // The refusals on purpose are there, and said so (the count pins them: a new kind would show above).
    expect(onPurpose).toBeGreaterThan(0);
  });
});
