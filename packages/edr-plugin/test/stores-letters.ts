// Test data shared by the dead-letter tests and their crash child.
import type { DeadLetter } from "../src/dead-letters.js";

/**
 * The one letter of an ordinal: its strings hold what JSON lines must survive (quotes, a newline, a
 * backslash, unicode, a lone surrogate), and its length varies so rotation lands at different places.
 */
export function letterFor(ordinal: number): DeadLetter {
  return {
    line: `m,host=h"${ordinal}" v="a\\"b\nc" ${ordinal}${"x".repeat(ordinal % 50)}`,
    table: `m\u00e9\ud800${ordinal % 3}`,
    status: 400,
    reason: `invalid column type for column 'v', expected iOx::column_type::field::integer, got string #${ordinal}`,
    time: new Date(1_700_000_000_000 + ordinal).toISOString(),
    ordinal,
  };
}
