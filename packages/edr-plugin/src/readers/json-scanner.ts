// A JSON parser that keeps every number as the text the server printed, for reading query answers.
//
// Why not `JSON.parse`: it turns int64/uint64 values above 2^53 into the nearest double and prints 21.0 as
// 21, so an integer column could not be copied exactly and a whole float could not be told from an
// integer. Why not `lossless-json`'s `parse`: it builds every string one character at a time and checks
// every number with a regular expression; on query rows this scanner is several times faster (see
// bench/jsonl.ts). It reads the answer's bytes as they came off the socket, for two reasons: V8 reads a
// Buffer byte faster than a string's char code, and each string it returns is a copy of its own, never a
// slice of a larger text. A slice would keep the whole 64 KB piece it came from alive for as long as anyone
// holds it (a converter caching tag values, say), so memory would grow with the answer instead of the chunk.
// Short strings that come back (tag values, a status) are copied once per scanner rather than once per row
// (see `JsonScanner.string`): a row then costs fewer allocations, and the garbage collector less time.
// Turning bytes into strings is buffer-text.ts.
import { asciiText, isTextOf, utf8Text } from "./buffer-text.js";

/**
 * A JSON number kept as its exact text: `{ value: "9223372036854775807" }`, `{ value: "21.0" }`. The shape
 * edr-transform's row converter reads as a lossless number (and `lossless-json`'s `LosslessNumber` has);
 * a class so that it cannot be mistaken for a JSON object that happens to have a `value` key.
 */
export class ExactNumber {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/** Malformed JSON: `offset` is the byte where the scanner gave up. */
export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
  }
}

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const UPPER_E = 69;
const LEFT_BRACKET = 91;
const BACKSLASH = 92;
const RIGHT_BRACKET = 93;
const LOWER_E = 101;
const LOWER_F = 102;
const LOWER_N = 110;
const LOWER_T = 116;
const LOWER_U = 117;
const LEFT_BRACE = 123;
const RIGHT_BRACE = 125;
const NON_ASCII = 0x80;

/** What each one-character escape stands for, by the escape's byte; `\u` is handled apart. */
const SIMPLE_ESCAPES: ReadonlyMap<number, string> = new Map([
  [QUOTE, '"'],
  [BACKSLASH, "\\"],
  [47, "/"],
  [98, "\b"],
  [LOWER_F, "\f"],
  [LOWER_N, "\n"],
  [114, "\r"],
  [LOWER_T, "\t"],
]);

const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");

/** Keys remembered by their position in an object: rows of one answer list the same keys in the same order. */
const MAX_CACHED_KEYS = 1024;
/** Slots of the table of short strings handed out again (a power of two). */
const INTERNED_SLOTS = 4096;
/**
 * Longest string (in bytes) looked up in that table: tag values and statuses are often this short, and a
 * timestamp never is (19 characters at least), so the table is not flooded by values that never come back.
 */
const MAX_INTERNED_BYTES = 16;

interface CachedKey {
  /** The key's bytes between its quotes, which hold no escape. */
  readonly bytes: Buffer;
  readonly text: string;
}

/**
 * Parses UTF-8 JSON like `JSON.parse` parses the decoded text (same grammar, same strings, last duplicate
 * key wins, `__proto__` an ordinary key) except that numbers come back as {@link ExactNumber}s. One scanner
 * is meant to read many rows of one answer: it remembers the keys it has seen by their position in an
 * object and compares the next row's keys in place instead of decoding them again. Bytes that are not
 * UTF-8 read as U+FFFD, as a UTF-8 decoder reads them.
 */
export class JsonScanner {
  private bytes: Buffer = Buffer.alloc(0);
  private at = 0;
  private end = 0;
  /** Set by `string()`: whether the string just read had an escape (its bytes then differ from its text). */
  private escaped = false;
  private readonly keys: (CachedKey | undefined)[] = [];
  /** Short ASCII strings already handed out, by a hash of their bytes; a slot keeps the latest. */
  private readonly interned: string[] = new Array<string>(INTERNED_SLOTS).fill("");

  /** Parses the one JSON value in `bytes[start, end)`; whitespace around it is allowed. */
  parse(bytes: Buffer, start = 0, end = bytes.length): unknown {
    this.bytes = bytes;
    this.at = start;
    this.end = end;
    const value = this.value();
    this.skipSpace();
    if (this.at < end) throw this.fail("expected the end of the JSON text");
    return value;
  }

  /** Parses `bytes[start, end)`, which must hold one JSON object (a row of a JSON-lines answer). */
  parseObject(bytes: Buffer, start = 0, end = bytes.length): Record<string, unknown> {
    this.bytes = bytes;
    this.at = start;
    this.end = end;
    this.skipSpace();
    if (this.at >= end || bytes[this.at] !== LEFT_BRACE) throw this.fail("expected a JSON object");
    const row = this.object();
    this.skipSpace();
    if (this.at < end) throw this.fail("expected the end of the object's line");
    return row;
  }

  private fail(message: string): JsonSyntaxError {
    return new JsonSyntaxError(message, this.at);
  }

  private skipSpace(): void {
    const bytes = this.bytes;
    const end = this.end;
    let at = this.at;
    while (at < end) {
      const c = bytes[at]!;
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
      at++;
    }
    this.at = at;
  }

  private value(): unknown {
    this.skipSpace();
    if (this.at >= this.end) throw this.fail("expected a value");
    const c = this.bytes[this.at]!;
    if (c === QUOTE) return this.string();
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
    if (c === LEFT_BRACE) return this.object();
    if (c === LEFT_BRACKET) return this.array();
    if (c === LOWER_T) return this.word(TRUE, true);
    if (c === LOWER_F) return this.word(FALSE, false);
    if (c === LOWER_N) return this.word(NULL, null);
    throw this.fail("expected a value");
  }

  private word<T>(word: Buffer, value: T): T {
    if (!this.matches(word, this.at)) throw this.fail(`expected ${word.toString("latin1")}`);
    this.at += word.length;
    return value;
  }

  /** Whether `expected` is at `at`, within the end. */
  private matches(expected: Buffer, at: number): boolean {
    const bytes = this.bytes;
    const n = expected.length;
    if (at + n > this.end) return false;
    for (let i = 0; i < n; i++) if (bytes[at + i] !== expected[i]) return false;
    return true;
  }

  private object(): Record<string, unknown> {
    const bytes = this.bytes;
    const end = this.end;
    const object: Record<string, unknown> = {};
    this.at++;
    this.skipSpace();
    if (this.at < end && bytes[this.at] === RIGHT_BRACE) {
      this.at++;
      return object;
    }
    for (let index = 0; ; index++) {
      if (this.at >= end || bytes[this.at] !== QUOTE) throw this.fail("expected a quoted key");
      const key = this.key(index);
      this.skipSpace();
      if (this.at >= end || bytes[this.at] !== COLON) throw this.fail('expected ":" after a key');
      this.at++;
      const value = this.value();
      if (key === "__proto__") {
        // Assignment would call Object.prototype's setter and replace the prototype: define it, as JSON.parse does.
        Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        object[key] = value;
      }
      this.skipSpace();
      const c = this.at < end ? bytes[this.at]! : -1;
      if (c === RIGHT_BRACE) {
        this.at++;
        return object;
      }
      if (c !== COMMA) throw this.fail('expected "," or "}" after a value');
      this.at++;
      this.skipSpace();
    }
  }

  /** The key at `this.at` (its opening quote), the `index`-th of its object. */
  private key(index: number): string {
    const cached = index < MAX_CACHED_KEYS ? this.keys[index] : undefined;
    if (cached !== undefined) {
      const start = this.at + 1;
      const close = start + cached.bytes.length;
      // A cached key has no escape, so its source is exactly its bytes between two quotes.
      if (close < this.end && this.bytes[close] === QUOTE && this.matches(cached.bytes, start)) {
        this.at = close + 1;
        return cached.text;
      }
    }
    const start = this.at + 1;
    const text = this.string();
    if (!this.escaped && index < MAX_CACHED_KEYS) {
      this.keys[index] = { bytes: Buffer.from(this.bytes.subarray(start, this.at - 1)), text };
    }
    return text;
  }

  /**
   * The string at `this.at` (its opening quote). A short ASCII string without escapes that this scanner
   * has handed out before is handed out again, the same string: rows repeat their tag values, and a
   * lookup costs less than a new string (and the collection of it). Strings are immutable, so sharing one
   * between rows is invisible to their readers.
   */
  private string(): string {
    const bytes = this.bytes;
    const end = this.end;
    const start = this.at + 1;
    let ascii = true;
    let hash = 0;
    let at = start;
    while (at < end) {
      const c = bytes[at]!;
      if (c === QUOTE) {
        this.at = at + 1;
        this.escaped = false;
        if (!ascii) return utf8Text(bytes, start, at);
        if (at - start > MAX_INTERNED_BYTES) return asciiText(bytes, start, at);
        const slot = (hash ^ (hash >>> 13)) & (INTERNED_SLOTS - 1);
        const known = this.interned[slot]!;
        if (known.length === at - start && isTextOf(known, bytes, start)) return known;
        const text = asciiText(bytes, start, at);
        this.interned[slot] = text;
        return text;
      }
      if (c === BACKSLASH) {
        this.at = at;
        return this.escapedString(start);
      }
      if (c < SPACE) {
        this.at = at;
        throw this.fail("control character in a string");
      }
      if (c >= NON_ASCII) ascii = false;
      hash = (Math.imul(hash, 31) + c) | 0;
      at++;
    }
    this.at = at;
    throw this.fail("unterminated string");
  }

  /** The rest of a string from its first backslash at `this.at`; `start` is where its bytes begin. */
  private escapedString(start: number): string {
    const bytes = this.bytes;
    const end = this.end;
    let at = this.at;
    let out = utf8Text(bytes, start, at);
    let run = at;
    while (at < end) {
      const c = bytes[at]!;
      if (c === QUOTE) {
        this.at = at + 1;
        this.escaped = true;
        return out + utf8Text(bytes, run, at);
      }
      if (c === BACKSLASH) {
        out += utf8Text(bytes, run, at);
        if (at + 1 >= end) break;
        const e = bytes[at + 1]!;
        if (e === LOWER_U) {
          const code = at + 6 <= end ? hex4(bytes, at + 2) : -1;
          if (code < 0) {
            this.at = at;
            throw this.fail("invalid \\u escape");
          }
          // Surrogate halves are joined by the string concatenation, as JSON.parse joins them.
          out += String.fromCharCode(code);
          at += 6;
        } else {
          const simple = SIMPLE_ESCAPES.get(e);
          if (simple === undefined) {
            this.at = at;
            throw this.fail("invalid escape");
          }
          out += simple;
          at += 2;
        }
        run = at;
        continue;
      }
      if (c < SPACE) {
        this.at = at;
        throw this.fail("control character in a string");
      }
      at++;
    }
    this.at = at;
    throw this.fail("unterminated string");
  }

  /** A number, checked against JSON's grammar and kept as its text. */
  private number(): ExactNumber {
    const bytes = this.bytes;
    const end = this.end;
    const start = this.at;
    let at = start;
    if (bytes[at] === MINUS) at++;
    let c = at < end ? bytes[at]! : -1;
    if (c === ZERO) {
      c = ++at < end ? bytes[at]! : -1;
    } else if (c > ZERO && c <= NINE) {
      do c = ++at < end ? bytes[at]! : -1;
      while (c >= ZERO && c <= NINE);
    } else {
      this.at = at;
      throw this.fail("expected a digit");
    }
    if (c === DOT) {
      const digits = ++at;
      while (at < end && (c = bytes[at]!) >= ZERO && c <= NINE) at++;
      if (at === digits) {
        this.at = at;
        throw this.fail("expected a digit after the decimal point");
      }
      c = at < end ? bytes[at]! : -1;
    }
    if (c === LOWER_E || c === UPPER_E) {
      at++;
      if (at < end && ((c = bytes[at]!) === PLUS || c === MINUS)) at++;
      const digits = at;
      while (at < end && (c = bytes[at]!) >= ZERO && c <= NINE) at++;
      if (at === digits) {
        this.at = at;
        throw this.fail("expected a digit in the exponent");
      }
    }
    this.at = at;
    return new ExactNumber(asciiText(bytes, start, at));
  }

  private array(): unknown[] {
    const bytes = this.bytes;
    const end = this.end;
    const array: unknown[] = [];
    this.at++;
    this.skipSpace();
    if (this.at < end && bytes[this.at] === RIGHT_BRACKET) {
      this.at++;
      return array;
    }
    for (;;) {
      array.push(this.value());
      this.skipSpace();
      const c = this.at < end ? bytes[this.at]! : -1;
      if (c === RIGHT_BRACKET) {
        this.at++;
        return array;
      }
      if (c !== COMMA) throw this.fail('expected "," or "]" after a value');
      this.at++;
    }
  }
}

/** The value of four hex digits at `at`, or -1. */
function hex4(bytes: Buffer, at: number): number {
  let code = 0;
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i]!;
    const digit =
      c >= ZERO && c <= NINE ? c - ZERO : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (digit < 0) return -1;
    code = code * 16 + digit;
  }
  return code;
}
