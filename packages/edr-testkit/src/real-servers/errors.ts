/** What went wrong while installing, starting, stopping or talking to a real server. */
export type RealServerErrorCode =
  "INSTALL_FAILED" | "NOT_ROOT" | "START_FAILED" | "NOT_READY" | "REQUEST_FAILED" | "UNEXPECTED_RESPONSE";

/**
 * The one error the real-server helpers throw. The message starts with `[edr-testkit]` and the server's name,
 * and says what was expected and what came in; a start failure carries the tail of the server's own log.
 */
export class RealServerError extends Error {
  override readonly name = "RealServerError";
  readonly code: RealServerErrorCode;

  constructor(code: RealServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
