// The options of `edr listen`'s write-through endpoint, their defaults, and their checks.
import type { IncomingMessage, ServerResponse } from "node:http";
import { PluginError } from "../errors.js";
import type { ReplicatorLogger } from "../logger.js";
import type { WriteIntake } from "./write-intake.js";

/** A handler for one exact path, served before anything is passed to the local instance. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The address the endpoint listens on by default: loopback only. */
export const DEFAULT_LISTEN_HOST = "127.0.0.1";
/** The port it listens on by default (InfluxDB 3's is 8181). */
export const DEFAULT_LISTEN_PORT = 8182;
/** InfluxDB 3's `--max-http-request-size`: 10 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** How long the local instance may take to answer a write (it answers after its ~1 s WAL flush). */
export const DEFAULT_LOCAL_TIMEOUT_MS = 30_000;
/** Connections kept open to the local instance at most. */
export const DEFAULT_MAX_LOCAL_CONNECTIONS = 64;
/** How long `close()` lets requests that are not writes (queries streaming, say) finish. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;

/** Options of {@link createListenServer}. */
export interface ListenServerOptions {
  /** The local instance (`--local-host`), `http(s)://host:port[/prefix]`; a path prefix is kept. */
  localUrl: string;
  /** The replicated database (`--local-db`): writes to it are forwarded, then queued. */
  database: string;
  /** Where the lines the local instance stored go. */
  intake: WriteIntake;
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port (tests). @default 8182 */
  port?: number;
  /** Exact paths (`/status`, `/metrics`…) served by these handlers before anything is passed through. */
  routes?: ReadonlyMap<string, RouteHandler>;
  /** The current time in ms since the epoch, for lines without a timestamp. @default Date.now */
  now?: () => number;
  /** Largest body, on the wire and again after gunzip; over it: 413. @default 10485760 */
  maxBodyBytes?: number;
  /** Longest wait for the local instance's answer (and idle time of a passed-through stream). @default 30000 */
  localTimeoutMs?: number;
  /** Most connections kept to the local instance. @default 64 */
  maxLocalConnections?: number;
  /** How long `close()` waits for requests other than writes before cutting them. @default 5000 */
  closeGraceMs?: number;
  /** @default consoleLogger */
  logger?: ReplicatorLogger;
}

/** The options with every default applied. */
export interface ResolvedListenOptions {
  localUrl: string;
  database: string;
  intake: WriteIntake;
  host: string;
  port: number;
  routes: ReadonlyMap<string, RouteHandler>;
  now: () => number;
  maxBodyBytes: number;
  localTimeoutMs: number;
  maxLocalConnections: number;
  closeGraceMs: number;
}

/** Applies the defaults and checks every option, throwing one `INVALID_ARGUMENT` error listing all problems. */
export function resolveListenOptions(options: ListenServerOptions): ResolvedListenOptions {
  const problems: string[] = [];
  const resolved: ResolvedListenOptions = {
    localUrl: options.localUrl,
    database: options.database,
    intake: options.intake,
    host: options.host ?? DEFAULT_LISTEN_HOST,
    port: options.port ?? DEFAULT_LISTEN_PORT,
    routes: options.routes ?? new Map(),
    now: options.now ?? Date.now,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    localTimeoutMs: options.localTimeoutMs ?? DEFAULT_LOCAL_TIMEOUT_MS,
    maxLocalConnections: options.maxLocalConnections ?? DEFAULT_MAX_LOCAL_CONNECTIONS,
    closeGraceMs: options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS,
  };
  let url: URL | undefined;
  try {
    url = new URL(options.localUrl);
  } catch {
    problems.push(`localUrl: expected an http(s) URL, got ${JSON.stringify(redactUrl(options.localUrl))}`);
  }
  if (url !== undefined && url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push(`localUrl: expected an http: or https: URL, got "${url.protocol}"`);
  }
  if (typeof options.database !== "string" || options.database === "") {
    problems.push("database: expected the name of the replicated database, got nothing");
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65_535) {
    problems.push(`port: expected an integer from 0 to 65535, got ${resolved.port}`);
  }
  for (const name of ["maxBodyBytes", "localTimeoutMs", "maxLocalConnections"] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value <= 0)
      problems.push(`${name}: expected a positive integer, got ${value}`);
  }
  if (!Number.isFinite(resolved.closeGraceMs) || resolved.closeGraceMs < 0) {
    problems.push(`closeGraceMs: expected a duration in ms, got ${resolved.closeGraceMs}`);
  }
  for (const path of resolved.routes.keys()) {
    if (!path.startsWith("/"))
      problems.push(`routes: expected paths starting with "/", got ${JSON.stringify(path)}`);
  }
  if (problems.length > 0) {
    const listed =
      problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  ${problems.join("\n  ")}`;
    throw new PluginError("INVALID_ARGUMENT", `edr listen: ${listed}`);
  }
  return resolved;
}

/** A URL without its user and password, for messages. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/[^/@]*@/, "//");
}
