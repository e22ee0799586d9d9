import { AsyncLocalStorage } from "node:async_hooks";
import { setLogger } from "@influxdata/influxdb3-client";
import type { SinkLogger } from "./options.js";

/** The sink whose request is running, so the client's global logger can reach that sink's logger. */
interface LogRoute {
  logger: SinkLogger;
  redact: (text: string) => string;
}

const current = new AsyncLocalStorage<LogRoute>();
const open = new Set<LogRoute>();
let installed = false;

function describe(err: unknown): string {
  if (err instanceof Error) return `: ${err.message}`;
  return typeof err === "string" ? `: ${err}` : "";
}

function route(level: "warn" | "error", message: string, err: unknown): void {
  const here = current.getStore();
  const targets = here ? [here] : open;
  for (const target of targets) {
    const text = target.redact(`[influxdb3-client] ${message}${describe(err)}`);
    // The client reports every failed write as an error; the sink decides what a failure means
    // (most are retried), so the client's own view is debug detail.
    if (level === "error") target.logger.debug?.(text);
    else target.logger.warn(text);
  }
}

/**
 * Replaces the client's console logger (a process-wide setting in 2.1.0) with one that routes each
 * message to the logger of the sink whose request produced it, token redacted.
 */
export function registerClientLogging(logger: SinkLogger, redact: (text: string) => string): LogRoute {
  if (!installed) {
    installed = true;
    setLogger({
      error: (message: string, err?: unknown) => route("error", message, err),
      warn: (message: string, err?: unknown) => route("warn", message, err),
    });
  }
  const entry = { logger, redact };
  open.add(entry);
  return entry;
}

/** Stops routing to a closed sink. */
export function unregisterClientLogging(entry: LogRoute): void {
  open.delete(entry);
}

/** Runs `fn` so that client log lines raised inside it go to `entry`'s logger. */
export function withClientLogging<T>(entry: LogRoute, fn: () => T): T {
  return current.run(entry, fn);
}
