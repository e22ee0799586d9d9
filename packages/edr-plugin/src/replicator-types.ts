import type { ScheduledConfig, WritesConfig } from "edr-args";
import type { Row } from "edr-transform";
import type { LocalApi, LocalReader } from "./readers/local-reader.js";
import type { ReplayOptions, ReplayResult } from "./dead-letter-replay.js";
import type { ReplicatorLogger } from "./logger.js";

/** One table's rows of a write, as the processing engine passes them to `process_writes`. */
export interface TableBatch {
  table_name: string;
  /** Column name to value; `time` in int ns. A column may be missing or null when the write did not set it. */
  rows: Row[];
}

/** Options of {@link createReplicator}; every part injectable for tests. */
export interface ReplicatorOptions {
  /** Where the log lines go. @default consoleLogger */
  logger?: ReplicatorLogger | undefined;
  /** Reads the local instance. @default a SQL or InfluxQL reader of `config.local`, as `localApi` says */
  reader?: LocalReader | undefined;
  /** Which API reads the local instance when no `reader` is given. @default "sql" */
  localApi?: LocalApi | undefined;
  /** The queue's fsync policy. @default "always" */
  fsync?: "always" | "batch" | "never" | undefined;
  /** Wall clock in epoch ms. @default Date.now */
  now?: (() => number) | undefined;
}

/** What one call (`processScheduledCall` or `processWrites`) did. */
export interface CallReport {
  taskId: string;
  /** Lines appended to the queue (accepted for replication). */
  queued: number;
  /** Lines the transform or row conversion refused (counted and logged, never queued). */
  refused: number;
  /** Lines delivered to the remote while this call drained the queue. */
  replicated: number;
  /** Lines the remote refused for good while this call drained (now in the dead-letter file). */
  deadLettered: number;
  /** Lines still queued when the call ended. */
  queuedAfter: number;
  /** `halted: <reason>` when the remote stopped delivery (401/403/404/TLS). */
  halted: string | undefined;
  /** Per table, the window end now replicated up to (scheduled mode), ns since the epoch. */
  watermarks: Record<string, string>;
  /** What went wrong, one line each (a table that could not be read, lines left not delivered); empty when all went well. */
  errors: string[];
  elapsedNs: bigint;
}

/** What one `drain()` did. */
export interface DrainReport {
  delivered: number;
  deadLettered: number;
  requests: number;
  /** Lines still queued afterwards. */
  remaining: number;
  /** Why lines remain: `halted: …`, or the last not-delivered reason. Undefined when the queue is empty. */
  stalled: string | undefined;
}

/** Health as one word plus a reason. */
export type ReplicatorState = "healthy" | "degraded" | `halted: ${string}`;

/**
 * What the replicator has done since it started, and how it stands. Counters reconcile:
 * `queuedAtStart + accepted = delivered + deadLettered + queued + dropped`.
 */
export interface ReplicatorStatus {
  state: ReplicatorState;
  mode: "scheduled" | "writes";
  queue: {
    name: string;
    dir: string;
    entries: number;
    bytes: number;
    maxBytes: number;
    oldestAgeMs: number | undefined;
  };
  /** Age in seconds of the oldest queued line (0 when empty). */
  lagSeconds: number;
  lines: {
    queuedAtStart: number;
    accepted: number;
    delivered: number;
    deadLettered: number;
    queued: number;
    dropped: number;
    /** Refused by the transform or the row conversion, by reason (never queued, so not in the balance). */
    refused: number;
  };
  deadLettersByStatus: Record<string, number>;
  refusedByReason: Record<string, number>;
  retriesByStatus: Record<string, number>;
  requests: number;
  lastSuccessTime: string | undefined;
  lastError: string | undefined;
  perTable: Record<string, { accepted: number; refused: number }>;
  /** Scheduled mode: per table, replicated up to this time (ISO 8601). */
  watermarks: Record<string, string>;
  reconciled: boolean;
}

/** The replicator: the engine's two entry points, a drain, a status, a close. */
export interface Replicator {
  readonly config: ScheduledConfig | WritesConfig;
  /** Scheduled mode: copies `[callTime - offset - window, callTime - offset)` of every table (catching up missed windows first), then drains. */
  processScheduledCall(callTime: Date): Promise<CallReport>;
  /** On-write mode: transforms and queues the rows of one WAL flush, then drains. */
  processWrites(tableBatches: readonly TableBatch[]): Promise<CallReport>;
  /** Sends what is queued until the queue is empty, the remote halts, or lines are left not delivered after the sink's retries. */
  drain(options?: { signal?: AbortSignal }): Promise<DrainReport>;
  status(): ReplicatorStatus;
  /**
   * Sends the dead letters again (once the remote's schema is fixed): delivered ones leave the file, refused
   * ones stay with the new reason. Runs between calls, never during one.
   */
  replayDeadLetters(options?: ReplayOptions): Promise<ReplayResult>;
  /** Finishes the current call, closes the queue (releasing its lock) and the sink. Safe to call twice. */
  close(): Promise<void>;
}
