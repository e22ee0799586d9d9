import type { ScheduledConfig, WritesConfig } from "edr-args";
import type { Row } from "edr-transform";
import type { LocalApi, LocalReader } from "./readers/local-reader.js";
import type { ReplayOptions, ReplayResult } from "./dead-letter-replay.js";
import type { WriteIntake } from "./listen/write-intake.js";
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

/** Health as one word: `healthy`, `degraded` (lines wait to be sent again, or the queue is full), or halted with the reason. */
export type ReplicatorState = "healthy" | "degraded" | `halted: ${string}`;

/**
 * What the replicator has done since it started, and how it stands. Counters reconcile:
 * `queuedAtStart + accepted = delivered + deadLettered + queued + dropped` (`reconciled`).
 */
export interface ReplicatorStatus {
  state: ReplicatorState;
  /** Why the state is not `healthy`, in words; undefined when healthy. */
  reason: string | undefined;
  mode: "scheduled" | "writes";
  /** When this replicator opened (ISO 8601). */
  startedAt: string;
  queue: {
    name: string;
    dir: string;
    entries: number;
    bytes: number;
    maxBytes: number;
    oldestAgeMs: number | undefined;
  };
  /** On-write mode: the staging queue, where written lines wait for the next flush (and for their bucket). */
  intake:
    | {
        entries: number;
        bytes: number;
        /** With downsampling: buckets ending at or before this time are emitted (ISO 8601). */
        emittedUntil: string | undefined;
      }
    | undefined;
  /** Age in seconds of the oldest queued line (0 when empty): how far the remote is behind. */
  lagSeconds: number;
  lines: {
    /** In the queue when the replicator opened (left by an earlier process). */
    queuedAtStart: number;
    /** Appended to the queue since: accepted for replication. */
    accepted: number;
    delivered: number;
    /** Refused by the remote for good, kept in the dead-letter file. */
    deadLettered: number;
    queued: number;
    /** Dropped by the queue (only under the drop-oldest policy). */
    dropped: number;
    /** Refused before the queue by the row conversion or the transform (counted, logged, never queued). */
    refused: number;
    /** On-write downsampling: points for buckets already emitted, kept in the late-letter file. */
    late: number;
    /**
     * On-write downsampling: lines written again while their bucket was open (a client retrying a write whose
     * answer it lost), counted once, as the local instance stores them once.
     */
    duplicates: number;
  };
  deadLettersByStatus: Record<string, number>;
  refusedByReason: Record<string, number>;
  /** Requests sent again, by the status (or `timeout`, `connection`, `tls`) that made them retry. */
  retriesByStatus: Record<string, number>;
  /** Every request's answer, by status (or `timeout`, `connection`, `tls`). */
  answersByStatus: Record<string, number>;
  requests: number;
  lastSuccessTime: string | undefined;
  lastError: string | undefined;
  perTable: Record<string, { accepted: number; refused: number; late: number }>;
  /** Scheduled mode: per table, replicated up to this time (ISO 8601). */
  watermarks: Record<string, string>;
  reconciled: boolean;
}

/** The replicator: the engine's two entry points, a drain, a status, a close. */
export interface Replicator {
  readonly config: ScheduledConfig | WritesConfig;
  /**
   * Scheduled mode: copies `[callTime - offset - window, callTime - offset)` of every table (catching up the
   * windows missed since each table's watermark first), queues it, and sends what is queued.
   */
  processScheduledCall(callTime: Date): Promise<CallReport>;
  /**
   * On-write mode, the engine's `process_writes`: takes the rows of one WAL flush into the intake (durably),
   * moves the intake to the queue (transformed; with downsampling, the buckets that have closed), and sends what
   * is queued.
   */
  processWrites(tableBatches: readonly TableBatch[]): Promise<CallReport>;
  /**
   * On-write mode: where the write-through endpoint (`edr listen`) puts the lines the local instance stored;
   * the flush moves them on. Undefined in scheduled mode.
   */
  readonly intake: WriteIntake | undefined;
  /**
   * On-write mode: converts the engine's table batches to lines (columns read from the local instance) and
   * takes them into the intake, durably; returns how many lines were kept (those of the replicated tables,
   * `tables=`). The flush moves them on.
   */
  acceptTableBatches(tableBatches: readonly TableBatch[]): Promise<number>;
  /** On-write mode: moves the intake to the queue now, as the flush timer does; resolves to the call's report. */
  flush(): Promise<CallReport | undefined>;
  /**
   * Starts the background work: in on-write mode a flush every `flushIntervalMs` (default 1 s, like the
   * engine's WAL flush); in both modes a drain loop that sends what is queued between calls, waiting out the
   * remote's `Retry-After` and backing off while it is down, so the queue empties even when nothing new arrives.
   * `close()` stops it.
   */
  start(options?: { flushIntervalMs?: number }): void;
  /** Sends what is queued until the queue is empty, the remote halts, or lines are left not delivered after the sink's retries. */
  drain(options?: { signal?: AbortSignal }): Promise<DrainReport>;
  status(): ReplicatorStatus;
  /**
   * Sends the dead letters again (once the remote's schema is fixed): delivered ones leave the file, refused
   * ones stay with the new reason. Runs between calls, never during one.
   */
  replayDeadLetters(options?: ReplayOptions): Promise<ReplayResult>;
  /**
   * Stops the background work, finishes the current call (on-write: moves what the intake holds on; open
   * buckets stay in the intake for the next start), closes the queues (releasing their locks) and the sink.
   * Safe to call twice.
   */
  close(): Promise<void>;
}
