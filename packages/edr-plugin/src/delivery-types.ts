import type { Queue } from "edr-queue";
import type { Sink } from "edr-sink";

/** A line the remote refused for good, keyed by its entry's place in the queue's lifetime order. */
export interface RefusedLine {
  line: string;
  table: string;
  status: number;
  reason: string;
  time: string;
  ordinal: number;
}

/** Where refused lines go before their queue entries are acknowledged (the dead-letter store). */
export interface RefusedLineSink {
  /** Durable (fsynced) before it resolves; letters with an ordinal already written are skipped. */
  append(letters: readonly RefusedLine[]): Promise<number>;
}

/** Options of {@link createDelivery}. */
export interface DeliveryOptions {
  queue: Queue;
  sink: Sink;
  deadLetters: RefusedLineSink;
  /** Entries per queue read, and so per `sink.write` call. @default 10000 */
  readEntries?: number | undefined;
  /** Bytes of JSON lines per queue read. @default 4 MiB */
  readBytes?: number | undefined;
  /** Lines in unanswered `sink.write` calls at most (the sink's advice: 2 x maxInFlight x batchLines). */
  maxUnansweredLines: number;
  /** Bytes of line protocol in unanswered calls at most (2 x maxInFlight x batchBytes). */
  maxUnansweredBytes: number;
  /** Wall clock in epoch ms. @default Date.now */
  now?: (() => number) | undefined;
}

/** How a pass runs. */
export interface PassOptions {
  /**
   * Lines not delivered wait for their `retryAt` within the pass when it is at most this far away; farther, the
   * pass ends with them pending (`stalled`). `Infinity` waits whatever it takes (the drain loop). @default 0
   */
  maxRetryWaitMs?: number;
  /** Ends the pass: nothing more is sent, the calls written answer, then it resolves. */
  signal?: AbortSignal;
}

/** What one pass did. */
export interface PassReport {
  delivered: number;
  deadLettered: number;
  requests: number;
  /** Why the pass ended with lines left not delivered (`halted: …`, or the sink's last reason); else undefined. */
  stalled: string | undefined;
  /** When the lines left are worth sending again (epoch ms), when stalled. */
  retryAt: number | undefined;
}

/** Counters since the delivery was created. */
export interface DeliveryCounters {
  delivered: number;
  deadLettered: number;
  requests: number;
  /** Dead letters by the remote's status code. */
  deadLettersByStatus: Map<number, number>;
  lastSuccessMs: number | undefined;
  /** When lines last came back not delivered (epoch ms): later than `lastSuccessMs` while the remote fails. */
  lastNotDeliveredMs: number | undefined;
  /** Lines sent again or waiting to be: the sink's reason for the last not-delivered lines. */
  lastReason: string | undefined;
}

/**
 * Delivers the queue to the remote: several `sink.write` calls in flight, queue batches acknowledged
 * strictly in order once each of their lines is delivered or dead-lettered, lines not delivered sent again
 * (before any newer line) once the calls already written have answered and their `retryAt` has passed.
 */
export interface Delivery {
  /**
   * Runs one pass, or joins the one running: sends until the queue is empty, or until a round leaves lines
   * not delivered (after the sink's own retries) or the remote halts. With `maxRetryWaitMs`, a pass that finds
   * lines waiting for their `retryAt` waits for it (abortable by `signal`) instead of ending at once.
   */
  pass(options?: PassOptions): Promise<PassReport>;
  /** Starts a pass in the background if none is running (after an append). */
  kick(): void;
  /** Lines held in memory waiting to be sent again. */
  readonly pendingLines: number;
  /** When the lines waiting may be sent again (epoch ms), if any wait. */
  readonly retryAt: number | undefined;
  /** The sink's halt reason while the remote refuses every write. */
  readonly halted: string | undefined;
  readonly counters: DeliveryCounters;
  /**
   * Lines delivered and dead-lettered as the queue's count sees them: `counters` plus the batch whose
   * acknowledgement the queue has already counted (its entries are gone from `stats().entries`) while the
   * pass has not yet added it. A status built from this and the queue's stats always reconciles.
   */
  settled(): { delivered: number; deadLettered: number };
  /** Waits for the running pass. */
  idle(): Promise<void>;
}
