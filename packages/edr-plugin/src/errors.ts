/** What went wrong, as a stable string a caller (and the `edr` command's exit code) can switch on. */
export type PluginErrorCode =
  /** Options or arguments that cannot work (the command exits 2). */
  | "INVALID_ARGUMENT"
  /** The local instance refused a read, or its answer was cut short or malformed. */
  | "LOCAL_READ"
  /** A file of edr's own (watermarks, dead letters) could not be read or written. */
  | "IO"
  /** The replicator was closed. */
  | "CLOSED";

/**
 * The one error class of edr-plugin: `code` says what kind of failure it is, the message starts with
 * `[edr-plugin]` and names the table, file or argument involved, a wrapped error stays in `cause`.
 * Tokens never appear in it.
 */
export class PluginError extends Error {
  override readonly name = "PluginError";
  readonly code: PluginErrorCode;

  constructor(code: PluginErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[edr-plugin] ${message}`, options);
    this.code = code;
  }
}
