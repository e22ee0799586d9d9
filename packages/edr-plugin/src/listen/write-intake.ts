// The one seam between the write-through endpoint and the replicator: the endpoint hands over what the
// local instance stored, the replicator queues it for the remote. Nothing else passes between them.
import type { TimeUnit } from "./write-endpoints.js";
import type { WriteLines } from "./write-lines.js";

/** One line the local instance stored, for the remote: its table (the unescaped measurement) and the line in line protocol with a nanosecond timestamp always present. */
export interface IntakeLine {
  readonly table: string;
  readonly line: string;
}

/** Where the write-through endpoint puts what the local instance stored. Implemented by the replicator. */
export interface WriteIntake {
  /** Why new writes must wait right now (the queue is full: max_size reached), or undefined. Checked before a write is forwarded to the local instance. */
  refusal(): { retryAfterSeconds: number; reason: string } | undefined;
  /**
   * Appends durably (fsynced) before it resolves, to the number of lines kept (the replicator keeps those of
   * the replicated tables); rejects (disk full, queue full…) with nothing of it kept.
   */
  accept(lines: readonly IntakeLine[]): Promise<number>;
  /**
   * Takes a whole write as it was received, durably (fsynced) before it resolves, to the number of lines
   * taken; rejects with nothing of it kept. An intake that has it keeps the body as it came and builds the
   * lines later; without it the endpoint builds them and calls {@link accept}.
   */
  acceptWrite?(write: ReceivedWrite): Promise<number>;
}

/** A write the local instance stored (all or part of it), as it was received. */
export interface ReceivedWrite {
  /** The body as it came, and its Content-Encoding. */
  readonly wire: Buffer;
  readonly encoding: string | undefined;
  /** Its lines, as read from the decoded body. */
  readonly lines: WriteLines;
  /** The precision of its timestamps. */
  readonly unit: TimeUnit;
  /** The stamp (in `unit`) given to lines without a timestamp; "" when every line had one. */
  readonly stamp: string;
  /** The numbers of the lines stored, ascending; undefined: every line. */
  readonly stored: readonly number[] | undefined;
}
