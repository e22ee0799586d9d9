// The one seam between the write-through endpoint and the replicator: the endpoint hands over what the
// local instance stored, the replicator queues it for the remote. Nothing else passes between them.

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
}
