import { PluginError } from "../errors.js";

/** Rows per chunk of `readRows` when the caller does not say. */
export const DEFAULT_CHUNK_ROWS = 10_000;
/** How long a reader waits for the local instance to send something (an answer, or its next piece). */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** Options of `createSqlReader` and `createInfluxQLReader`. */
export interface LocalReaderOptions {
  /**
   * Give up (`LOCAL_READ`) when the local instance sends nothing for this long: while it plans and sorts
   * a query before the first row, or between two pieces of an answer. Time the caller spends on a chunk
   * does not count.
   * @default 120000
   */
  idleTimeoutMs?: number;
}

/** The idle timeout of `options`, checked. */
export function idleTimeoutOf(options: LocalReaderOptions): number {
  const ms = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (!(Number.isFinite(ms) && ms > 0)) {
    throw new PluginError(
      "INVALID_ARGUMENT",
      `idleTimeoutMs: expected a positive number of milliseconds, got ${String(ms)}`,
    );
  }
  return ms;
}

/** `chunkRows` of a `readRows` call, checked. */
export function chunkRowsOf(table: string, chunkRows: number | undefined): number {
  const rows = chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!(Number.isSafeInteger(rows) && rows > 0)) {
    throw new PluginError(
      "INVALID_ARGUMENT",
      `reading table ${JSON.stringify(table)}: chunkRows must be a positive whole number, got ${String(rows)}`,
    );
  }
  return rows;
}
