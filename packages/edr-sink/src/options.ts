import { readFileSync } from "node:fs";
import { SinkError } from "./errors.js";
import type { RetryDecision, TransportFailure, WriteApi } from "./retry-policy.js";

/** Where the sink's own messages go. `debug` and `info` are optional. */
export interface SinkLogger {
  debug?(message: string): void;
  info?(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** One request's answer, as {@link SinkOptions.onAnswer} hears it. */
export interface AnswerEvent {
  /** HTTP status, or 0 when no answer came back (see `failure`). */
  readonly status: number;
  /** `timeout`, `connection` or `tls` when `status` is 0. */
  readonly failure: TransportFailure | undefined;
  /** Lines in the request. */
  readonly lines: number;
  /**
   * What the sink does next: `deliver`, `wait` (a retry after a pause), `give_up` (retries used up: the lines
   * come back not delivered), `split` (413), `partial` / `bisect` (find the bad lines), `reject`, `halt`.
   */
  readonly action: RetryDecision["action"];
}

/** Waits `ms`, or less when `signal` aborts (then it resolves, it does not reject). */
export type SleepFn = (ms: number, signal: AbortSignal) => Promise<void>;

/*
 * The defaults below that edr-args also states (write API, retries, batch lines and bytes, requests in flight,
 * timeout) are kept equal to its `DEFAULT_*` by edr-plugin's contract test: neither package imports the other.
 */

/** Default write endpoint: InfluxDB 3's own, the only one that stores the good lines of a bad batch. */
export const DEFAULT_WRITE_API: WriteApi = "v3";
/** Default retries of each request after its first attempt, in one write call (the seed's `max_retries`). */
export const DEFAULT_MAX_RETRIES = 3;
/** Default most lines per request. */
export const DEFAULT_BATCH_LINES = 100_000;
/** Default most bytes per request before gzip: 6 MiB, well under InfluxDB 3's 10 MiB limit. */
export const DEFAULT_BATCH_BYTES = 6 * 1024 * 1024;
/** Default requests in flight at once (InfluxDB 3 answers after its ~1 s WAL flush). */
export const DEFAULT_MAX_IN_FLIGHT = 4;
/** Default time a request may take, sending to answer. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default body size above which the body is gzipped. */
export const DEFAULT_GZIP_THRESHOLD_BYTES = 1000;
/** Default gzip level: 1 compresses line protocol ~6x at several times the speed of level 6. */
export const DEFAULT_GZIP_LEVEL = 1;
/** Default first backoff ceiling. */
export const DEFAULT_BACKOFF_BASE_MS = 1000;
/** Default largest backoff ceiling. */
export const DEFAULT_BACKOFF_MAX_MS = 60_000;
/** Default pause after a halt (401/403/404/TLS) before lines are worth sending again. */
export const DEFAULT_HALT_PAUSE_MS = 60_000;

/**
 * How to reach the remote and how hard to try. Names and meanings are edr-args' `RemoteConfig`, so a parsed
 * remote config is passed as is: `createSink(config.remote)` (its other fields are ignored).
 */
export interface SinkOptions {
  /** Base URL of the remote, `http://` or `https://`, optionally with a path prefix. */
  url: string;
  /**
   * The port every request goes to; when given, it replaces the port in `url` (when absent, the port of `url`,
   * or 80/443 when `url` names none). edr-args' `remote.port` means the same: the port its `url` already
   * holds after the port rule. Not the seed's `port_override`, which edr-args applies and which a port
   * written in `host` wins over.
   */
  port?: number | undefined;
  /** Sent as `Authorization: Bearer <token>`; never logged, never in an error or outcome. */
  token?: string | undefined;
  /** Remote database (`db` on v3 and v1, `bucket` on v2). */
  database: string;
  /** Write endpoint: `v3` `/api/v3/write_lp`, `v2` `/api/v2/write`, `v1` `/write`. @default "v3" */
  writeApi?: WriteApi | undefined;
  /** Verify the remote's TLS certificate. @default true */
  verifySsl?: boolean | undefined;
  /** PEM file of the CA(s) to trust for the remote's certificate (instead of Node's bundled list). */
  caFile?: string | undefined;
  /**
   * Retries of each request after its first attempt, in one write call: a request is sent at most
   * `1 + maxRetries` times (the halves of a split 413 or of a bisected batch count their own attempts). What is
   * still not delivered comes back not delivered (the caller keeps it queued). The same meaning as edr-args'
   * `max_retries`. @default 3
   */
  maxRetries?: number | undefined;
  /** Most lines per request. @default 100000 */
  batchLines?: number | undefined;
  /** Most bytes per request before gzip. @default 6291456 (6 MiB) */
  batchBytes?: number | undefined;
  /** Requests in flight at once, lines partitioned by series. @default 4 */
  maxInFlight?: number | undefined;
  /** Time a request may take; a timed-out write is not delivered (it may have been stored). @default 30000 */
  timeoutMs?: number | undefined;
  /** Bodies larger than this are gzipped. @default 1000 */
  gzipThresholdBytes?: number | undefined;
  /** zlib level for gzip, 1 (fast) to 9 (small). @default 1 */
  gzipLevel?: number | undefined;
  /** First backoff ceiling; doubles per retry. @default 1000 */
  backoffBaseMs?: number | undefined;
  /** Largest backoff ceiling. @default 60000 */
  backoffMaxMs?: number | undefined;
  /** After a halt, lines are reported retryable this long after. @default 60000 */
  haltPauseMs?: number | undefined;
  /** Where warnings and errors go. @default console (warn and error only) */
  logger?: SinkLogger | undefined;
  /**
   * Told about every answer (or transport failure) of every request, and what the sink does about it: for
   * metrics such as retries by status code. Called synchronously; must not throw. @default none
   */
  onAnswer?: ((answer: AnswerEvent) => void) | undefined;
  /** Uniform [0, 1) source for jitter (tests inject one). @default Math.random */
  random?: (() => number) | undefined;
  /** Wall clock in epoch ms. @default Date.now */
  now?: (() => number) | undefined;
  /** How retries wait (tests inject one that records and returns at once). @default a setTimeout */
  sleep?: SleepFn | undefined;
}

/** Options with defaults applied and files read. */
export interface ResolvedSinkOptions {
  baseUrl: URL;
  token: string | undefined;
  database: string;
  writeApi: WriteApi;
  verifySsl: boolean;
  ca: Buffer | undefined;
  maxRetries: number;
  batchLines: number;
  batchBytes: number;
  maxInFlight: number;
  timeoutMs: number;
  gzipThresholdBytes: number;
  gzipLevel: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  haltPauseMs: number;
  logger: SinkLogger;
  onAnswer: ((answer: AnswerEvent) => void) | undefined;
  random: () => number;
  now: () => number;
  sleep: SleepFn;
}

/** Writes warnings and errors to the console, prefixed; drops debug and info. */
export const consoleSinkLogger: SinkLogger = {
  warn: (message) => console.warn(`[edr-sink] ${message}`),
  error: (message) => console.error(`[edr-sink] ${message}`),
};

/** A `setTimeout` that an abort ends early. */
export const defaultSleep: SleepFn = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

/** Applies defaults and checks every option, throwing one SinkError that lists every problem. */
export function resolveOptions(options: SinkOptions): ResolvedSinkOptions {
  const problems: string[] = [];
  let baseUrl: URL | undefined;
  if (typeof options.url !== "string" || options.url === "") {
    problems.push(`url: expected an http:// or https:// URL, got ${describe(options.url)}`);
  } else {
    try {
      baseUrl = new URL(options.url);
      if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") {
        problems.push(`url: expected an http:// or https:// URL, got protocol "${baseUrl.protocol}"`);
      }
      if (baseUrl.username !== "" || baseUrl.password !== "") {
        problems.push("url: expected no credentials in the URL (pass the token as `token`)");
      }
    } catch {
      problems.push(`url: expected an http:// or https:// URL, got ${JSON.stringify(options.url)}`);
    }
  }
  if (options.port !== undefined) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      problems.push(`port: expected an integer from 1 to 65535, got ${describe(options.port)}`);
    } else if (baseUrl) {
      baseUrl.port = String(options.port);
    }
  }
  if (typeof options.database !== "string" || options.database === "") {
    problems.push(`database: expected a non-empty string, got ${describe(options.database)}`);
  }
  if (options.token !== undefined && typeof options.token !== "string") {
    problems.push(`token: expected a string, got ${typeof options.token}`);
  }
  const writeApi = options.writeApi ?? DEFAULT_WRITE_API;
  if (writeApi !== "v3" && writeApi !== "v2" && writeApi !== "v1") {
    problems.push(`writeApi: expected "v3", "v2" or "v1", got ${describe(writeApi)}`);
  }
  const int = (name: string, value: number | undefined, fallback: number, min: number, max = Infinity) => {
    const v = value ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      problems.push(
        `${name}: expected an integer ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`}, got ${describe(v)}`,
      );
    }
    return v;
  };
  const maxRetries = int("maxRetries", options.maxRetries, DEFAULT_MAX_RETRIES, 0);
  const batchLines = int("batchLines", options.batchLines, DEFAULT_BATCH_LINES, 1);
  const batchBytes = int("batchBytes", options.batchBytes, DEFAULT_BATCH_BYTES, 1);
  const maxInFlight = int("maxInFlight", options.maxInFlight, DEFAULT_MAX_IN_FLIGHT, 1, 64);
  const timeoutMs = int("timeoutMs", options.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
  const gzipThresholdBytes = int(
    "gzipThresholdBytes",
    options.gzipThresholdBytes,
    DEFAULT_GZIP_THRESHOLD_BYTES,
    0,
  );
  const gzipLevel = int("gzipLevel", options.gzipLevel, DEFAULT_GZIP_LEVEL, 0, 9);
  const backoffBaseMs = int("backoffBaseMs", options.backoffBaseMs, DEFAULT_BACKOFF_BASE_MS, 0);
  const backoffMaxMs = int("backoffMaxMs", options.backoffMaxMs, DEFAULT_BACKOFF_MAX_MS, 0);
  const haltPauseMs = int("haltPauseMs", options.haltPauseMs, DEFAULT_HALT_PAUSE_MS, 0);
  const verifySsl = options.verifySsl ?? true;
  if (typeof verifySsl !== "boolean") {
    problems.push(`verifySsl: expected true or false, got ${describe(verifySsl)}`);
  }
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      problems.push(`caFile: expected a readable PEM file, got ${JSON.stringify(options.caFile)} (${code})`);
    }
  }
  if (problems.length > 0 || baseUrl === undefined) {
    throw new SinkError("INVALID_ARGUMENT", `invalid options:\n  ${problems.join("\n  ")}`);
  }
  return {
    baseUrl,
    token: options.token === "" ? undefined : options.token,
    database: options.database,
    writeApi,
    verifySsl,
    ca,
    maxRetries,
    batchLines,
    batchBytes,
    maxInFlight,
    timeoutMs,
    gzipThresholdBytes,
    gzipLevel,
    backoffBaseMs,
    backoffMaxMs,
    haltPauseMs,
    logger: options.logger ?? consoleSinkLogger,
    onAnswer: options.onAnswer,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? defaultSleep,
  };
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value;
}
