/** One queued record. The queue stores it as one JSON line and gives it back as it was. */
export interface QueueEntry {
  readonly table: string;
  readonly line: string;
}

// ---- serializing -----------------------------------------------------------------------------------

/** A buffer that {@link serializeEntries} writes into and replaces with a larger one when it must. */
export interface ByteStore {
  buf: Buffer;
}

/** 1 where a UTF-16 unit below 0x80 is written as is inside a JSON string: not `"`, `\` or a control. */
const PLAIN = new Uint8Array(128);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = 1;
PLAIN[0x22] = 0;
PLAIN[0x5c] = 0;
/** The first unit that is not plain ASCII (one byte in UTF-8, written as is). */
const NOT_PLAIN_ASCII = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const HEX = "0123456789abcdef";
const OPEN = Buffer.from('{"table":');
const MID = Buffer.from('","line":"');
const CLOSE = 0x22; // '"'

/** Bytes a string of `n` UTF-16 units can take inside JSON quotes: at most 6 a unit (`\uXXXX`). */
const worst = (n: number): number => 6 * n;

/**
 * Serializes entries to JSON lines, `{"table":"...","line":"..."}\n` each, the seed's format, byte for byte
 * what `JSON.stringify({table, line}) + "\n"` gives (UTF-8; a lone surrogate as `\udXXX`, as JSON.stringify
 * writes it). Writes straight into `store.buf` from offset 0, replacing it with a larger buffer when needed,
 * and returns a view of the bytes written. With `copies`, also stores there a copy of each entry. Throws a
 * TypeError naming the index of the first entry that is not `{table: string, line: string}`.
 */
export function serializeEntries(
  entries: readonly QueueEntry[],
  store: ByteStore = { buf: EMPTY },
  copies?: QueueEntry[],
): Buffer {
  let buf = store.buf;
  let p = 0;
  // `{"table":"<table>","line":"` once per run of entries with the same table.
  let table: string | undefined;
  let prefix = EMPTY;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === null || typeof e !== "object" || typeof e.table !== "string" || typeof e.line !== "string") {
      throw new TypeError(
        `[edr-queue] append: entries[${i}]: expected {table: string, line: string}, got ${describe(e)}`,
      );
    }
    const line = e.line;
    if (copies) copies[i] = { table: e.table, line };
    if (e.table !== table) {
      table = e.table;
      prefix = Buffer.allocUnsafe(OPEN.length + 2 + worst(table.length) + MID.length);
      let q = OPEN.copy(prefix, 0);
      prefix[q++] = CLOSE;
      q = writeJsonChars(table, 0, prefix, q);
      q += MID.copy(prefix, q);
      prefix = prefix.subarray(0, q);
    }
    const need = p + prefix.length + worst(line.length) + 3;
    if (need > buf.length) {
      // Room for the rest at the average size so far, so that a fresh buffer is not grown many times.
      const projected = i > 0 ? Math.ceil((p / i) * entries.length * 1.125) + need - p : 0;
      const bigger = Buffer.allocUnsafeSlow(Math.max(need, 2 * buf.length, projected, 256));
      buf.copy(bigger, 0, 0, p);
      buf = store.buf = bigger;
    }
    for (let k = 0; k < prefix.length; k++) buf[p++] = prefix[k]!;
    // Most lines are mostly plain ASCII: a native write of the whole line, then the units from the first
    // one that is not (a quote, a backslash, a control, non-ASCII) rewritten one by one.
    const first = line.search(NOT_PLAIN_ASCII);
    if (first < 0) {
      p += buf.write(line, p, "latin1");
    } else {
      if (first > 16) buf.write(line, p, "latin1");
      else for (let k = 0; k < first; k++) buf[p + k] = line.charCodeAt(k);
      p = writeJsonChars(line, first, buf, p + first);
    }
    buf[p++] = CLOSE;
    buf[p++] = 0x7d; // }
    buf[p++] = 0x0a; // \n
  }
  return buf.subarray(0, p);
}

const EMPTY = Buffer.alloc(0);

/**
 * Writes units [from, end) of `s` as the inside of a JSON string, UTF-8, as JSON.stringify does; returns
 * the offset after them. `buf` must have room for {@link worst} bytes.
 */
function writeJsonChars(s: string, from: number, buf: Buffer, at: number): number {
  let p = at;
  const n = s.length;
  let i = from;
  while (i < n) {
    const c = s.charCodeAt(i++);
    if (c < 0x80) {
      if (PLAIN[c] === 1) buf[p++] = c;
      else p = writeEscape(c, buf, p);
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    } else {
      const d = c <= 0xdbff && i < n ? s.charCodeAt(i) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        buf[p++] = 0xf0 | (cp >> 18);
        buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[p++] = 0x80 | (cp & 0x3f);
      } else {
        p = writeEscape(c, buf, p); // a lone surrogate: JSON.stringify writes \udXXX
      }
    }
  }
  return p;
}

/** `\"`, `\\`, `\b` `\t` `\n` `\f` `\r`, or `\uXXXX` (lower-case hex), as JSON.stringify writes them. */
function writeEscape(c: number, buf: Buffer, at: number): number {
  let p = at;
  buf[p++] = 0x5c;
  switch (c) {
    case 0x22:
      buf[p++] = 0x22;
      return p;
    case 0x5c:
      buf[p++] = 0x5c;
      return p;
    case 0x08:
      buf[p++] = 0x62;
      return p;
    case 0x09:
      buf[p++] = 0x74;
      return p;
    case 0x0a:
      buf[p++] = 0x6e;
      return p;
    case 0x0c:
      buf[p++] = 0x66;
      return p;
    case 0x0d:
      buf[p++] = 0x72;
      return p;
  }
  buf[p++] = 0x75;
  buf[p++] = HEX.charCodeAt(c >> 12);
  buf[p++] = HEX.charCodeAt((c >> 8) & 15);
  buf[p++] = HEX.charCodeAt((c >> 4) & 15);
  buf[p++] = HEX.charCodeAt(c & 15);
  return p;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(value).slice(0, 80);
  } catch {
    return "an unserializable object";
  }
}

// ---- parsing ----------------------------------------------------------------------------------------

/**
 * Parses the JSON lines of one member. Returns the entries, or a reason naming the first bad line.
 * Blank lines are skipped (a file edited by hand may end with one).
 */
export function parseEntries(text: string): QueueEntry[] | string {
  return parseOwnLines(text) ?? parseAnyLines(text);
}

const TABLE_KEY = '{"table":"';
const LINE_KEY = '","line":';

/**
 * The fast path, for the exact shape {@link serializeEntries} writes: every line `{"table":"…","line":"…"}`
 * with no spacing, ending with "\n". Each string is still read by JSON.parse (which checks its escapes and
 * controls), one string literal at a time; the table's once per run of lines with the same table text.
 * Returns undefined for anything else (another key order or spacing, a blank line, a missing final
 * newline, bad JSON), which {@link parseAnyLines} then reads, or names the bad line of.
 */
export function parseOwnLines(text: string): QueueEntry[] | undefined {
  const out: QueueEntry[] = [];
  const n = text.length;
  let table = "";
  let tableRaw: string | undefined; // the table's JSON text, quotes excluded, when it has no escapes
  let p = 0;
  while (p < n) {
    const nl = text.indexOf("\n", p);
    if (nl < 0 || text.charCodeAt(nl - 1) !== 0x7d || !text.startsWith(TABLE_KEY, p)) return undefined;
    const ts = p + TABLE_KEY.length;
    let ls: number; // the line string's opening quote
    if (
      tableRaw !== undefined &&
      text.startsWith(tableRaw, ts) &&
      text.startsWith(LINE_KEY, ts + tableRaw.length)
    ) {
      ls = ts + tableRaw.length + LINE_KEY.length;
    } else {
      const te = closingQuote(text, ts, nl);
      if (te < 0 || !text.startsWith(LINE_KEY, te)) return undefined;
      const t = parseString(text, ts - 1, te + 1);
      if (t === undefined) return undefined;
      table = t;
      const raw = text.slice(ts, te);
      tableRaw = raw.includes("\\") ? undefined : raw;
      ls = te + LINE_KEY.length;
    }
    if (text.charCodeAt(ls) !== 0x22) return undefined;
    // From the opening quote to the closing brace: exactly one JSON string (JSON.parse allows the
    // whitespace JSON allows after it, and refuses anything else).
    const line = parseString(text, ls, nl - 1);
    if (line === undefined) return undefined;
    out.push({ table, line });
    p = nl + 1;
  }
  return out;
}

/** The index of the quote that closes the JSON string whose text starts at `from`, or -1 before `end`. */
function closingQuote(text: string, from: number, end: number): number {
  let q = text.indexOf('"', from);
  while (q >= 0 && q < end) {
    let b = q;
    while (b > from && text.charCodeAt(b - 1) === 0x5c) b--;
    if ((q - b) % 2 === 0) return q; // an even run of backslashes before it: not escaped
    q = text.indexOf('"', q + 1);
  }
  return -1;
}

/** JSON.parse of text [from, to), which starts with a quote: the string, or undefined if it is not one. */
function parseString(text: string, from: number, to: number): string | undefined {
  try {
    return JSON.parse(text.slice(from, to)) as string;
  } catch {
    return undefined;
  }
}

/** Any JSON lines of entries (Python's spacing, blank lines, other key orders); names the first bad line. */
function parseAnyLines(text: string): QueueEntry[] | string {
  // JSON strings cannot hold a raw newline, so newline-separated objects are one JSON array once the
  // newlines become commas; one JSON.parse per member instead of one per line.
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
