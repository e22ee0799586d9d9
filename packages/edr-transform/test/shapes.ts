// Helpers of the shape tests: the scanner's path as the reference, and a count of the lines shapes took.
import { vi } from "vitest";
import { createTransform, type TransformResult } from "../src/transform.js";
import type { ReplicationRules } from "../src/rules.js";

/** Each line through a fresh transform: its first line always takes the scanner's path. */
export function alone(rules: ReplicationRules, lines: readonly string[]): TransformResult<string> {
  const out: TransformResult<string> = { items: [], dropped: 0, emptied: 0, rejected: [] };
  lines.forEach((line, index) => {
    const one = createTransform(rules).lines([line]);
    out.items.push(...one.items);
    out.dropped += one.dropped;
    out.emptied += one.emptied;
    out.rejected.push(...one.rejected.map((r) => ({ ...r, index })));
  });
  return out;
}

/**
 * Runs `fn` and counts the lines a learnt shape matched: shapes are the only whole-line (`^`) regexes the
 * transforms run, and `RegExp.prototype.test` goes through `exec` once that is replaced.
 */
export function countShaped<T>(fn: () => T): [T, number] {
  const exec = RegExp.prototype.exec; // eslint-disable-line @typescript-eslint/unbound-method
  let shaped = 0;
  const spy = vi.spyOn(RegExp.prototype, "exec").mockImplementation(function (this: RegExp, s: string) {
    const match = exec.call(this, s);
    if (match !== null && this.source.startsWith("^")) shaped++;
    return match;
  });
  try {
    return [fn(), shaped];
  } finally {
    spy.mockRestore();
  }
}
