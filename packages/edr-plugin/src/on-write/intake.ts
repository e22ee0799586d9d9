import { createQueue, type Queue, type QueueEntry } from "edr-queue";
import type { IntakeLine, WriteIntake } from "../listen/write-intake.js";

/** Options of {@link openIntake}. */
export interface IntakeOptions {
  /** The queue directory. */
  readonly dir: string;
  /** The main queue's name: the intake is the queue `<name>_intake` beside it. */
  readonly name: string;
  /** Bound on the intake's unacknowledged bytes (the main queue's `max_size`). */
  readonly maxBytes: number;
  readonly fsync: "always" | "batch" | "never";
  /** The tables replicated (`tables=`); lines of other tables are counted and not kept. Undefined: all. */
  readonly tables: ReadonlySet<string> | undefined;
  /** Why writes must wait now (the main queue is full), checked by the write-through endpoint. */
  readonly refusal: () => { retryAfterSeconds: number; reason: string } | undefined;
  readonly onWarning: (message: string) => void;
}

/** Counters of an intake since it opened. */
export interface IntakeCounters {
  /** Lines kept for replication. */
  accepted: number;
  /** Lines of tables not replicated (`tables=`), not kept. */
  filtered: number;
}

/**
 * The on-write staging queue: lines the local instance stored land here, fsynced, before the client is
 * answered; the flush moves them, transformed (and downsampled), to the main queue once per flush interval,
 * then acknowledges them. With downsampling, lines stay here until their bucket is emitted, so open buckets
 * survive a crash and are rebuilt on start.
 */
export interface Intake extends WriteIntake {
  readonly queue: Queue;
  readonly counters: IntakeCounters;
  close(): Promise<void>;
}

/** Opens (taking its lock) the intake queue of a main queue. */
export async function openIntake(options: IntakeOptions): Promise<Intake> {
  const queue = await createQueue({
    dir: options.dir,
    name: intakeName(options.name),
    maxBytes: options.maxBytes,
    fsync: options.fsync,
    onWarning: options.onWarning,
  });
  return new QueueIntake(queue, options);
}

/** The intake queue's name: `<main queue name>_intake` (`edr_queue_writes_intake.jsonl.gz`). */
export function intakeName(queueName: string): string {
  return `${queueName}_intake`;
}

class QueueIntake implements Intake {
  readonly counters: IntakeCounters = { accepted: 0, filtered: 0 };

  constructor(
    readonly queue: Queue,
    private readonly options: IntakeOptions,
  ) {}

  refusal(): { retryAfterSeconds: number; reason: string } | undefined {
    return this.options.refusal();
  }

  async accept(lines: readonly IntakeLine[]): Promise<number> {
    const tables = this.options.tables;
    let entries: readonly QueueEntry[] = lines;
    if (tables !== undefined) {
      entries = lines.filter((line) => tables.has(line.table));
      this.counters.filtered += lines.length - entries.length;
    }
    if (entries.length === 0) return 0;
    // One append: all of it durable, or none of it (a client's retry then adds nothing twice).
    await this.queue.append(entries);
    this.counters.accepted += entries.length;
    return entries.length;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
