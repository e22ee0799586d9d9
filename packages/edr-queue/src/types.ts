import type { Position } from "./cursor-file.js";
import type { QueueEntry } from "./entries.js";

/**
 * Entries read from the queue, oldest first, with the opaque positions that `ack` needs. Acknowledge
 * batches in the order `read` returned them.
 */
export interface QueueBatch {
  readonly entries: readonly QueueEntry[];
  /** Position of the first entry (opaque). */
  readonly start: Position;
  /** Position just after the last entry (opaque). */
  readonly end: Position;
}

/**
 * What `ack` needs of a batch: its positions and how many entries it holds. A {@link QueueBatch} is one; so is the
 * span of several consecutive batches (`{ start: first.start, end: last.end, entries: { length: total } }`),
 * which lets a caller acknowledge entries it no longer holds in memory.
 */
export interface QueueBatchSpan {
  readonly start: Position;
  readonly end: Position;
  readonly entries: { readonly length: number };
}

/** Counters and gauges of a queue. */
export interface QueueStats {
  /** Unacknowledged entries. */
  readonly entries: number;
  /** Unacknowledged bytes on disk (compressed). */
  readonly bytes: number;
  /** Age in ms of the oldest unacknowledged entry's append, or undefined when empty. */
  readonly oldestAgeMs: number | undefined;
  /** Lifetime totals: `appended = acknowledged + dropped + entries` (quarantined bytes are apart). */
  readonly appended: number;
  readonly acknowledged: number;
  readonly dropped: number;
  readonly quarantinedBytes: number;
  readonly quarantinedEvents: number;
  /** Segment files holding unacknowledged data (sealed ones plus the head). */
  readonly segments: number;
  readonly codec: string;
}

/** A durable queue of `{table, line}` entries. Create one with {@link createQueue}. */
export interface Queue {
  /**
   * Appends entries (in order, after every append called before). Resolves once they are durable as
   * the `fsync` option says; rejects with code `FULL` when `maxBytes` would be exceeded under
   * `onFull: 'error'`, or `IO` when the disk refuses (nothing of that append is then queued).
   */
  append(entries: readonly QueueEntry[]): Promise<void>;
  /**
   * Reads the next entries after the last read (or after the acknowledged position, at first and after
   * `rewind`). Several batches may be read before acknowledging the first. An empty batch means nothing
   * more is queued right now.
   * @param options.maxEntries at most this many entries (default 1000)
   * @param options.maxBytes stop adding entries once their JSON lines reach this size (default 4 MiB)
   */
  read(options?: { maxEntries?: number; maxBytes?: number }): Promise<QueueBatch>;
  /**
   * Acknowledges a batch: its entries will never be read again, even after a crash. Batches must be
   * acknowledged in order; acknowledging one already acknowledged (or dropped) does nothing. A
   * {@link QueueBatchSpan} of consecutive batches acknowledges them all at once.
   */
  ack(batch: QueueBatchSpan): Promise<void>;
  /** Makes the next `read` start again at the oldest unacknowledged entry (after a failed send). */
  rewind(): void;
  stats(): QueueStats;
  /** Waits for pending appends, makes everything durable, releases the lock. Safe to call twice. */
  close(): Promise<void>;
}
