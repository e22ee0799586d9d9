// What the local instance's answer to a write says was stored. InfluxDB 3 says it exactly (204: all; a
// partial-write body: all but the lines it lists; a whole-batch error: none). InfluxDB 1.x keeps the good
// lines of a bad batch and answers `partial write: …` without saying which: that answer is "unknown",
// and the lines' fates are found by sending parts of the batch again (line-fates.ts).
import { parsePartialWrite } from "edr-sink";

/** What an answer says was stored of the lines sent. */
export type StoredVerdict =
  /** Every line was stored (2xx). */
  | { kind: "all" }
  /** No line was stored: a rejection of the whole batch, or an error that is not about lines. */
  | { kind: "none" }
  /** Every line but those in `rejected` (0-based positions in what was sent) was stored. */
  | { kind: "some"; rejected: ReadonlyMap<number, string> }
  /** Some lines may have been stored, the answer does not say which (InfluxDB 1.x's partial write). */
  | { kind: "unknown"; reason: string };

/**
 * Reads a write's answer: `status`, the body as text and the lines sent (called only for a 400 or 422,
 * the statuses that can describe lines). A partial-write body that cannot be matched to the lines sent
 * (a `line_number` out of range, an `original_line` that is not the start of that line) is "unknown", not
 * guessed at.
 */
export function judgeAnswer(status: number, body: string, sent: () => readonly string[]): StoredVerdict {
  if (status >= 200 && status <= 299) return { kind: "all" };
  if (status !== 400 && status !== 422) return { kind: "none" };
  const message = errorMessage(body);
  const lines = sent();
  const partial = parsePartialWrite(body, lines);
  if (partial !== undefined) {
    if (partial.kind === "whole") return { kind: "none" };
    // A body naming more lines than were sent cannot be read, and one naming every line stored none.
    if (partial.rejected.size >= lines.length) return { kind: "none" };
    return { kind: "some", rejected: partial.rejected };
  }
  if (message === undefined) return { kind: "none" };
  // InfluxDB 3's own wording for a partial write, with a body that did not match: which lines, unknown.
  if (message.startsWith("partial write")) return { kind: "unknown", reason: message };
  // InfluxDB 1.x: a type conflict inside one shard's batch fails that shard only; others may be stored.
  if (message.includes("field type conflict")) return { kind: "unknown", reason: message };
  return { kind: "none" };
}

/** The `error` (InfluxDB 1.x and 3) or `message` (InfluxDB 2 style) of a JSON error body. */
export function errorMessage(body: string): string | undefined {
  if (body === "" || body.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const value = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (typeof value.error === "string") return value.error;
    if (typeof value.message === "string") return value.message;
  } catch {
    // Not JSON: not a body that describes lines.
  }
  return undefined;
}
