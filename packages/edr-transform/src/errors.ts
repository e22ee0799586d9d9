/** What went wrong, for callers that branch on it. */
export type TransformErrorCode =
  | "LINE_PROTOCOL" // text that is not valid line protocol
  | "INVALID_POINT" // a point that cannot be written as line protocol (NaN, out-of-range integer, bad name)
  | "INVALID_ARGUMENT" // rules or a downsampling config that cannot be built (collisions, bad interval)
  | "INVALID_SCHEMA"; // a column schema with an unknown type or no time column

/**
 * The one error class of edr-transform (edr's scheme: `<Package>Error`, a `code` to switch on, a message that
 * starts with `[edr-<package>]`): `code` says what failed, the message says where and what came in.
 */
export class TransformError extends Error {
  override readonly name: string = "TransformError";
  readonly code: TransformErrorCode;

  constructor(code: TransformErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[edr-transform] ${message}`, options);
    this.code = code;
  }
}

/**
 * A line that is not valid line protocol. `line` and `column` are 1-based and point at the first problem:
 * `line` counts physical lines of the parsed text (every `\n`), `column` counts UTF-16 code units.
 */
export class LineProtocolError extends TransformError {
  override readonly name: string = "LineProtocolError";
  readonly line: number;
  readonly column: number;
  /** The problem alone, without the position prefix. */
  readonly reason: string;

  constructor(line: number, column: number, reason: string) {
    super("LINE_PROTOCOL", `line ${line}, column ${column}: ${reason}`);
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}
