/**
 * The typed configuration edr-args produces. Plain objects, durations in milliseconds, sizes in bytes,
 * renames as Maps, so the other packages use it without re-parsing anything.
 *
 * Every table and field named here is the *local* (source) name, as it is stored in the local instance:
 * renames, exclusions and aggregations all refer to the names before any rename is applied.
 */

/**
 * Which write endpoint of the remote receives the lines. InfluxDB 3 serves all three; `v1` also reaches InfluxDB 1.x.
 * The same union as edr-sink's `WriteApi` (stated in both packages, which import nothing of each other;
 * edr-plugin's contract test checks that the two types are equal).
 */
export type WriteApi = "v3" | "v2" | "v1";

/** The write APIs `write_api` accepts, in order of preference. */
export const WRITE_APIS: readonly WriteApi[] = ["v3", "v2", "v1"];

/** An aggregate function applied to a field's values within one downsampling bucket. */
export type AggregateFunction = "avg" | "sum" | "min" | "max" | "count" | "first" | "last" | "median";

/** The aggregate functions `aggregations` accepts. */
export const AGGREGATE_FUNCTIONS: readonly AggregateFunction[] = [
  "avg",
  "sum",
  "min",
  "max",
  "count",
  "first",
  "last",
  "median",
];

/** Where and how to write to the remote InfluxDB (what edr-sink takes). */
export interface RemoteConfig {
  /**
   * Base URL of the remote, always with an explicit port and without a trailing slash, e.g.
   * `https://12.4.0.1:443` or `http://[::1]:8181`; a path prefix given in `host` is kept after the port
   * (`https://proxy.example:443/influx`).
   * Port rule: an explicit port in `host` wins, then `port_override`, then 443 for https and 8181 for http.
   */
  url: string;
  /** The URL's scheme. */
  protocol: "http" | "https";
  /** The host name or address as it appears in the URL (IPv6 in brackets). */
  hostname: string;
  /**
   * The port every write request goes to: the port written in {@link url}, after the port rule. edr-sink's
   * `port` means the same (when given, it is the port requests go to), so passing this config to `createSink`
   * sends to this port either way.
   */
  port: number;
  /** `port_override` as given, if it was; already applied to `url` unless `host` had an explicit port. */
  portOverride?: number;
  /** The API token (from `token`, else the `EDR_REMOTE_TOKEN` environment variable). Never log it. */
  token: string;
  /** The remote database name. */
  database: string;
  /** Which write endpoint to use. @default "v3" */
  writeApi: WriteApi;
  /** Verify the remote's TLS certificate. @default true */
  verifySsl: boolean;
  /** Path of a PEM file with the CA certificate(s) to trust for the remote, `~` expanded, absolute. */
  caFile?: string;
  /**
   * Retries of each write request after its first attempt, within one write call: a request is sent at most
   * `1 + maxRetries` times (the halves of a split 413 or of a bisected batch count their own attempts). What
   * is still not delivered stays queued for a later call. The same meaning as edr-sink's `maxRetries`.
   * @default {@link DEFAULT_MAX_RETRIES}
   */
  maxRetries: number;
  /** At most this many lines per request. @default {@link DEFAULT_BATCH_LINES} */
  batchLines: number;
  /** At most this many bytes of line protocol per request (before gzip). @default {@link DEFAULT_BATCH_BYTES} */
  batchBytes: number;
  /** Requests in flight at once, lines partitioned by series so no series is reordered. @default {@link DEFAULT_MAX_IN_FLIGHT} */
  maxInFlight: number;
  /** Time allowed for one write request, in ms. @default {@link DEFAULT_TIMEOUT_MS} */
  timeoutMs: number;
}

/** Where the local (source) instance is, for the runtime that reads it outside the processing engine. */
export interface LocalConfig {
  /** Base URL of the local instance, same rules as {@link RemoteConfig.url} (no `port_override`). @default "http://127.0.0.1:8181" */
  url: string;
  /** The local database to read from; absent when the caller supplies it (the engine's `--database`). */
  database?: string;
  /** Token for the local instance (from `local_token`, else `EDR_LOCAL_TOKEN`). Never log it. */
  token?: string;
}

/** How to aggregate each field when downsampling. */
export interface AggregationRules {
  /**
   * The function for every field not listed in {@link fields}. Absent: `avg` for numeric fields,
   * `last` for strings and booleans.
   */
  default?: AggregateFunction;
  /** Per local table, per local field name, the function to use. */
  fields: Map<string, Map<string, AggregateFunction>>;
}

/** Downsampling: one point per table, tag set and time bucket. */
export interface DownsamplingConfig {
  /** Bucket width in ms; buckets are aligned to multiples of it since the Unix epoch (like `DATE_BIN`). */
  intervalMs: number;
  /** Which function each field gets. */
  aggregations: AggregationRules;
}

/** What happens to the data on the way (what edr-transform takes). */
export interface TransformConfig {
  /** Local tables to replicate, in the order given; absent = every user table. */
  tables?: Set<string>;
  /** Per local table, the fields (or tags) to leave out. */
  excludedFields: Map<string, Set<string>>;
  /** Local table name -> remote table name. Two tables may be renamed onto one (their series merge). */
  tablesRename: Map<string, string>;
  /** Per local table, local field (or tag) name -> remote name; targets within a table are distinct. */
  fieldRenames: Map<string, Map<string, string>>;
  /** Downsampling, when `aggregate_interval` is given; absent = lines pass through unaggregated. */
  downsampling?: DownsamplingConfig;
}

/** Where the durable queue lives: edr-queue's `createQueue` takes it as is (`dir`, `name`, `maxBytes`). */
export interface QueueConfig {
  /** Directory of the queue file: `queue_dir`, else `PLUGIN_DIR`, else `~/.plugins`; absolute. */
  dir: string;
  /**
   * The queue's name, as edr-queue's `name` takes it: `writes` or `schedule`, with `_<unique_file_suffix>`
   * appended when that (older plugins') argument is given (`schedule_suffix123`). Letters, digits, `_` and `-`.
   */
  name: string;
  /**
   * File name of this mode's queue, `edr_queue_<name>.jsonl.gz` (the name edr-queue gives its head file):
   * `edr_queue_writes.jsonl.gz`, `edr_queue_schedule.jsonl.gz` or `edr_queue_schedule_suffix123.jsonl.gz`.
   */
  fileName: string;
  /**
   * Bound on unacknowledged bytes in the queue, compressed, on disk (`max_size` MB x 1,048,576), as edr-queue's
   * `maxBytes` takes it. @default 1073741824
   */
  maxBytes: number;
}

/** Settings both modes share. */
export interface CommonConfig {
  /** Where to write. */
  remote: RemoteConfig;
  /** Where to read (outside the engine). */
  local: LocalConfig;
  /** What to change on the way. */
  transform: TransformConfig;
  /** Where to keep what is not delivered yet. */
  queue: QueueConfig;
}

/** Configuration of the scheduled mode: each call copies `[tick - offset - window, tick - offset)`. */
export interface ScheduledConfig extends CommonConfig {
  /** Discriminant. */
  mode: "scheduled";
  /** Width of the time window copied per call, in ms. */
  windowMs: number;
  /** How far behind the call time the window ends, in ms. @default 0 */
  offsetMs: number;
  /**
   * After downtime, copy the windows missed, oldest first, before the current one (`catch_up`); `false` keeps
   * the Python plugin's behaviour (missed windows are never copied). @default {@link DEFAULT_CATCH_UP}
   */
  catchUp: boolean;
}

/** Configuration of the on-write mode: each batch of written lines is replicated as it arrives. */
export interface WritesConfig extends CommonConfig {
  /** Discriminant. */
  mode: "writes";
  /**
   * With downsampling: how long after its end a bucket waits for late points before it is emitted, in ms
   * (`aggregate_grace`). @default {@link DEFAULT_AGGREGATE_GRACE_MS}
   */
  aggregateGraceMs: number;
}

/*
 * The defaults of the remote settings below are edr-sink's defaults too, stated in both packages because
 * neither imports the other (each is useful alone); edr-plugin's contract test (test/contract.test.ts) fails
 * when the two disagree.
 */

/**
 * Default `batch_lines`: 100,000 lines per request (edr-sink's default). InfluxDB 3 answers a write only after
 * its ~1 s write-ahead-log flush, so throughput is about `max_in_flight` batches per second: small batches
 * would cap it (4 x 10,000 lines = 40,000 lines/s); in practice `batch_bytes` binds first.
 */
export const DEFAULT_BATCH_LINES = 100_000;
/** Default `batch_bytes`: 6 MiB per request (edr-sink's default), well under InfluxDB 3's 10 MiB request limit. */
export const DEFAULT_BATCH_BYTES = 6 * 1024 * 1024;
/** InfluxDB 3's request body limit (`--max-http-request-size`), checked after decompression too: `batch_bytes` may not exceed it. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** Default `write_api`: InfluxDB 3's own endpoint, the only one that keeps the good lines of a bad batch (edr-sink's default). */
export const DEFAULT_WRITE_API: WriteApi = "v3";
/** Default `max_retries`, as in the seed (edr-sink's default). */
export const DEFAULT_MAX_RETRIES = 3;
/** Default `max_size` in MB, as in the seed (edr-queue's default `maxBytes` is this many MiB). */
export const DEFAULT_MAX_SIZE_MB = 1024;
/** Default `max_in_flight`: enough to hide InfluxDB 3's ~1 s write-ahead-log flush per request (edr-sink's default). */
export const DEFAULT_MAX_IN_FLIGHT = 4;
/**
 * Default `timeout`: 30 s per request. InfluxDB 3 answers only after its write-ahead-log flush (~1 s), and a
 * 6 MiB batch over a slow link takes seconds more; a write that times out is sent again (a harmless duplicate),
 * so too short a timeout costs bandwidth for nothing. Same as edr-sink's default.
 */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default `catch_up`: a scheduled run after downtime copies the windows it missed. */
export const DEFAULT_CATCH_UP = true;
/** Default `aggregate_grace`: 30 s, enough for clients that buffer their points for a flush interval or two. */
export const DEFAULT_AGGREGATE_GRACE_MS = 30_000;
/** InfluxDB 3's HTTP port, used for `http` hosts without a port. */
export const DEFAULT_HTTP_PORT = 8181;
/** Used for `https` hosts without a port. */
export const DEFAULT_HTTPS_PORT = 443;
/** Default `local_host`: an InfluxDB 3 on this machine. */
export const DEFAULT_LOCAL_URL = "http://127.0.0.1:8181";
/** Environment variable that supplies `token` when the argument is omitted. */
export const REMOTE_TOKEN_ENV = "EDR_REMOTE_TOKEN";
/** Environment variable that supplies `local_token` when the argument is omitted. */
export const LOCAL_TOKEN_ENV = "EDR_LOCAL_TOKEN";
/** Environment variable for the queue directory, as in the seed. */
export const PLUGIN_DIR_ENV = "PLUGIN_DIR";
