/** What went wrong in the test server's own API (not on the wire: wire errors are HTTP answers). */
export type TestServerErrorCode = "INVALID_ARGUMENT" | "CLOSED" | "NO_ADDRESS";

/** Thrown by the test server's API for a bad argument or a call after `close()`. */
export class TestServerError extends Error {
  override readonly name = "TestServerError";
  constructor(
    readonly code: TestServerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`[edr-testkit] [influxdb3-server] ${message}`, options);
  }
}
