/** What went wrong, as a stable string a caller can switch on. */
export type QueueErrorCode = "INVALID_ARGUMENT" | "LOCKED" | "FULL" | "OUT_OF_ORDER" | "CLOSED" | "IO";

/**
 * The one error class of edr-queue. `code` says what kind of failure it is; the message starts with
 * `[edr-queue]` and names the file or argument involved; a wrapped system error stays in `cause`.
 */
export class QueueError extends Error {
  override readonly name = "QueueError";
  readonly code: QueueErrorCode;

  constructor(code: QueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[edr-queue] ${message}`, options);
    this.code = code;
  }
}
