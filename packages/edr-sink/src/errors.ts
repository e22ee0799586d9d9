/** What went wrong, for code that branches on it. */
export type SinkErrorCode =
  /** Options that cannot work, or a write of something else than an array of strings. */
  | "INVALID_ARGUMENT"
  /** A write after `close()`. */
  | "CLOSED";

/**
 * The one error edr-sink throws, and only for a programming error (bad options, a write after close):
 * a remote's answer is never thrown, it comes back as an outcome.
 */
export class SinkError extends Error {
  override readonly name = "SinkError";
  readonly code: SinkErrorCode;

  constructor(code: SinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[edr-sink] ${message}`, options);
    this.code = code;
  }
}
