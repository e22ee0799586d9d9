/** One queued record. The queue stores it as one JSON line and gives it back as it was. */
export interface QueueEntry {
  readonly table: string;
  readonly line: string;
}

// Characters JSON.stringify would escape (quote, backslash, controls) or treat specially (surrogates).
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify for strings, without its cost for the common string that needs no escaping. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/**
 * Serializes entries to JSON lines, `{"table":"...","line":"..."}\n` each, the seed's format. Throws a
 * TypeError naming the index of the first entry that is not `{table: string, line: string}`.
 */
export function serializeEntries(entries: readonly QueueEntry[]): string {
  let out = "";
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === null || typeof e !== "object" || typeof e.table !== "string" || typeof e.line !== "string") {
      throw new TypeError(
        `[edr-queue] append: entries[${i}]: expected {table: string, line: string}, got ${describe(e)}`,
      );
    }
    out += '{"table":' + quote(e.table) + ',"line":' + quote(e.line) + "}\n";
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(value).slice(0, 80);
  } catch {
    return "an unserializable object";
  }
}

/**
 * Parses the JSON lines of one member. Returns the entries, or a reason naming the first bad line.
 * Blank lines are skipped (a file edited by hand may end with one).
 */
export function parseEntries(text: string): QueueEntry[] | string {
  // Fast path: JSON strings cannot hold a raw newline, so newline-separated objects are one JSON array
  // once the newlines become commas; one JSON.parse per member instead of one per line.
  if (text.length > 0 && text.charCodeAt(text.length - 1) === 10 && !text.includes("\n\n")) {
    try {
      const parsed = JSON.parse("[" + text.slice(0, -1).replaceAll("\n", ",") + "]") as unknown[];
      if (parsed.length === countLines(text) && parsed.every(isEntry)) return parsed;
    } catch {
      // fall through to the line-by-line parse, which names the bad line
    }
  }
  const out: QueueEntry[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return `line ${lineNo} is not JSON: ${JSON.stringify(line.slice(0, 60))}`;
    }
    if (!isEntry(value)) return `line ${lineNo} is not {"table": string, "line": string}`;
    out.push(value);
  }
  return out;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function isEntry(value: unknown): value is QueueEntry {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const v = value as { table?: unknown; line?: unknown };
  return typeof v.table === "string" && typeof v.line === "string";
}
