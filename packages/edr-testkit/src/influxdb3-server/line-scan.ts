// The fast path of the write: a scan over the body's bytes that accepts only plain, well-formed lines and says
// "not sure" (-1) for everything else, which then goes through the strict parser in line-protocol.ts. It
// builds no strings and no objects: it records where the names are and what type each field value has, so
// that a line whose names and types match the line before it costs no allocation at all.
//
// Accepted here means the strict parser would accept the same line with the same names and types (held by
// line-scan.test.ts on random lines). To keep that easy to see, the scan gives up on: any backslash; a comma
// or quote in a field key; a value that is not plainly a number, a boolean or a quote-delimited string;
// integers near the 64-bit limits; floats that might overflow. Within that language the line ends exactly
// where splitBody would end it, since a `"` then opens and closes only string values.
//
// It reads the UTF-8 bytes rather than the decoded text: every delimiter is ASCII and no byte of a multi-byte
// character is, so the lines and names are the same; and V8 reads a Buffer byte about twice as fast as a
// `charCodeAt` (measured on the bench's lines).

/** Field types as numbers for the scan; the names are `FIELD_TYPE_NAMES[code]`. */
export const FLOAT = 0;
export const INTEGER = 1;
export const UNSIGNED = 2;
export const STRING = 3;
export const BOOLEAN = 4;
export const FIELD_TYPE_NAMES = ["float", "integer", "unsigned", "string", "boolean"] as const;

/** More names than this in one line: leave the line to the strict parser. */
const MAX_NAMES = 64;

/** Where the scanned line's parts are: offsets into the body, reused from line to line. */
export class LineScan {
  measurementStart = 0;
  measurementEnd = 0;
  tagCount = 0;
  readonly tagKeyStart = new Int32Array(MAX_NAMES);
  readonly tagKeyEnd = new Int32Array(MAX_NAMES);
  fieldCount = 0;
  readonly fieldKeyStart = new Int32Array(MAX_NAMES);
  readonly fieldKeyEnd = new Int32Array(MAX_NAMES);
  readonly fieldType = new Uint8Array(MAX_NAMES);
  /** The timestamp's text: `timeStart === timeEnd` when the line has none. */
  timeStart = 0;
  timeEnd = 0;
}

const COMMA = 44;
const SPACE = 32;
const TAB = 9;
const NEWLINE = 10;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Scans the line that starts at `start` (not at a space, tab, newline or `#`: the caller leaves those to the
 * strict path). Returns where the line ends (its `\n`, or the body's end) with `out` filled in, or -1 when
 * the strict parser must decide.
 */
export function scanLine(b: Buffer, start: number, out: LineScan): number {
  const len = b.length;
  let i = start;
  let c = 0;
  // Measurement: up to a comma or space.
  for (; i < len; i++) {
    c = b[i]!;
    if (c === COMMA || c === SPACE || c === NEWLINE) break;
    if (c === BACKSLASH) return -1;
  }
  if (i === start || i === len) return -1;
  out.measurementStart = start;
  out.measurementEnd = i;
  let tags = 0;
  while (c === COMMA) {
    if (tags === MAX_NAMES) return -1;
    const keyStart = ++i;
    // A tag key ends at `=` (a comma is a plain character in keys).
    for (; i < len; i++) {
      c = b[i]!;
      if (c === EQUALS || c === SPACE || c === NEWLINE) break;
      if (c === BACKSLASH) return -1;
    }
    if (i === keyStart || c !== EQUALS || i === len) return -1;
    out.tagKeyStart[tags] = keyStart;
    out.tagKeyEnd[tags] = i;
    tags++;
    const valueStart = ++i;
    for (; i < len; i++) {
      c = b[i]!;
      if (c === COMMA || c === SPACE || c === NEWLINE) break;
      if (c === BACKSLASH) return -1;
    }
    if (i === valueStart || i === len) return -1;
  }
  out.tagCount = tags;
  if (c !== SPACE) return -1;
  while (i < len && b[i]! === SPACE) i++;
  let fields = 0;
  for (;;) {
    if (fields === MAX_NAMES) return -1;
    const keyStart = i;
    for (; i < len; i++) {
      c = b[i]!;
      if (c === EQUALS) break;
      // A comma or quote in a field key would change where splitBody thinks strings start.
      if (c === SPACE || c === NEWLINE || c === COMMA || c === QUOTE || c === BACKSLASH) return -1;
    }
    if (i === keyStart || i === len) return -1;
    out.fieldKeyStart[fields] = keyStart;
    out.fieldKeyEnd[fields] = i;
    i++;
    i = i < len && b[i]! === QUOTE ? scanString(b, i + 1, out, fields) : scanValue(b, i, out, fields);
    if (i < 0) return -1;
    fields++;
    c = i < len ? b[i]! : NEWLINE;
    if (c !== COMMA) break;
    i++;
  }
  out.fieldCount = fields;
  out.timeStart = out.timeEnd = i;
  if (c === NEWLINE) return i;
  if (c !== SPACE) return -1;
  while (i < len && b[i]! === SPACE) i++;
  const timeStart = i;
  if (i < len && b[i]! === MINUS) i++;
  const digitsStart = i;
  while (i < len && isDigit(b[i]!)) i++;
  if (i === digitsStart) {
    if (i !== timeStart) return -1; // a lone "-"
  } else {
    out.timeStart = timeStart;
    out.timeEnd = i;
  }
  // Only trailing spaces and tabs may follow (the strict parser trims them).
  for (; i < len; i++) {
    c = b[i]!;
    if (c === NEWLINE) return i;
    if (c !== SPACE && c !== TAB) return -1;
  }
  return i;
}

/** Where a quoted string ends (after its closing quote); -1 on a backslash or no closing quote. */
function scanString(b: Buffer, i: number, out: LineScan, field: number): number {
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) {
      out.fieldType[field] = STRING;
      return i + 1;
    }
    if (c === BACKSLASH) return -1;
  }
  return -1;
}

/** Where an unquoted value ends (a comma, space, newline or the body's end); -1 when not plainly valid. */
function scanValue(b: Buffer, start: number, out: LineScan, field: number): number {
  const len = b.length;
  let end = start;
  for (; end < len; end++) {
    const c = b[end]!;
    if (c === COMMA || c === SPACE || c === NEWLINE) break;
  }
  const type = valueType(b, start, end);
  if (type < 0) return -1;
  out.fieldType[field] = type;
  return end;
}

function valueType(b: Buffer, start: number, end: number): number {
  if (start === end) return -1;
  let i = start;
  let c = b[i]!;
  if (c === 116 || c === 84 || c === 102 || c === 70) return booleanWord(b, start, end) ? BOOLEAN : -1;
  const negative = c === MINUS;
  if (negative) i++;
  const digitsStart = i;
  while (i < end && isDigit(b[i]!)) i++;
  const digits = i - digitsStart;
  if (digits === 0) return -1;
  if (i === end) return digits > 300 ? finiteFloat(b, start, end) : FLOAT;
  c = b[i]!;
  // Up to 18 digits is always within int64, 19 within uint64; longer ones are for the strict parser.
  if (c === 105 /* i */ && i + 1 === end) return digits <= 18 ? INTEGER : -1;
  if (c === 117 /* u */ && i + 1 === end) return !negative && digits <= 19 ? UNSIGNED : -1;
  let exponent = false;
  if (c === DOT) {
    const fractionStart = ++i;
    while (i < end && isDigit(b[i]!)) i++;
    if (i === fractionStart) return -1;
  }
  if (i < end) {
    c = b[i]!;
    if (c !== 101 && c !== 69) return -1; // e E
    i++;
    c = i < end ? b[i]! : 0;
    if (c === PLUS || c === MINUS) i++;
    const exponentStart = i;
    while (i < end && isDigit(b[i]!)) i++;
    if (i === exponentStart || i !== end) return -1;
    exponent = true;
  }
  return exponent || digits > 300 ? finiteFloat(b, start, end) : FLOAT;
}

/** Rare enough to afford a string: a float with an exponent or 300 digits may be out of range. */
function finiteFloat(b: Buffer, start: number, end: number): number {
  return Number.isFinite(Number(b.toString("latin1", start, end))) ? FLOAT : -1;
}

const BOOLEAN_WORDS = ["t", "T", "f", "F", "true", "True", "TRUE", "false", "False", "FALSE"].map((w) =>
  Buffer.from(w, "latin1"),
);

function booleanWord(b: Buffer, start: number, end: number): boolean {
  for (const word of BOOLEAN_WORDS) if (sameBytes(b, start, end, word)) return true;
  return false;
}

/** Whether `b[start, end)` holds exactly the bytes of `word`. */
export function sameBytes(b: Buffer, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (b[start + i] !== word[i]) return false;
  return true;
}
