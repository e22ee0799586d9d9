/** Where the replicator's log lines go: the seed's levels, one line per call. */
export interface ReplicatorLogger {
  debug?(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Writes `INFO`/`WARN`/`ERROR` lines to stderr with a UTC timestamp, as the engine's log table shows them. */
export const consoleLogger: ReplicatorLogger = {
  info: (message) => writeLine("INFO", message),
  warn: (message) => writeLine("WARN", message),
  error: (message) => writeLine("ERROR", message),
};

/** Drops every line (for tests and embedding). */
export const silentLogger: ReplicatorLogger = { info: () => {}, warn: () => {}, error: () => {} };

function writeLine(level: string, message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${message}\n`);
}

/** A logger that prefixes every line with `[<taskId>] `, as the seed does per call. */
export function taskLogger(logger: ReplicatorLogger, taskId: string): ReplicatorLogger {
  const prefix = `[${taskId}] `;
  return {
    debug: (message) => logger.debug?.(prefix + message),
    info: (message) => logger.info(prefix + message),
    warn: (message) => logger.warn(prefix + message),
    error: (message) => logger.error(prefix + message),
  };
}

/** `31ms 449us 193ns`: an elapsed time in the seed's words (from `process.hrtime.bigint()` differences). */
export function formatElapsed(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const ms = (ns / 1_000_000n) % 1000n;
  const us = (ns / 1000n) % 1000n;
  const rest = ns % 1000n;
  return `${s > 0n ? `${s}s ` : ""}${ms}ms ${us}us ${rest}ns`;
}
