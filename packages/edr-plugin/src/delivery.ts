import type { QueueBatch } from "edr-queue";
import type { WriteResult } from "edr-sink";
import type {
  Delivery,
  DeliveryCounters,
  DeliveryOptions,
  PassOptions,
  PassReport,
  RefusedLine,
} from "./delivery-types.js";
import { sleep } from "./sleep.js";

export type {
  Delivery,
  DeliveryCounters,
  DeliveryOptions,
  PassOptions,
  PassReport,
  RefusedLine,
  RefusedLineSink,
} from "./delivery-types.js";

/** A queue batch read and not yet acknowledged. */
interface OpenBatch {
  readonly batch: QueueBatch;
  /** Lifetime ordinal of the batch's first entry: the dead-letter key. */
  readonly ordinal: number;
  unsettled: number;
  readonly letters: RefusedLine[];
}

/** Lines of one batch in a call: all of them (`indices` undefined), or those listed. */
interface CallPart {
  readonly open: OpenBatch;
  readonly indices: readonly number[] | undefined;
}

interface Call {
  readonly parts: readonly CallPart[];
  readonly lines: number;
  readonly bytes: number;
  readonly result: Promise<WriteResult>;
}

/** A line waiting to be sent again. */
interface PendingLine {
  readonly open: OpenBatch;
  readonly index: number;
}

const DEFAULT_READ_ENTRIES = 10_000;
/**
 * Least pause before lines not delivered are sent again, doubling each round that delivers nothing up to
 * the most: a remote that keeps answering `Retry-After: 0` (or a proxy that resets at once) is not hammered.
 */
const MIN_RESEND_PAUSE_MS = 250;
const MAX_RESEND_PAUSE_MS = 30_000;
const DEFAULT_READ_BYTES = 4 * 1024 * 1024;

/** Creates the delivery loop of a queue and a sink (see {@link Delivery}). */
export function createDelivery(options: DeliveryOptions): Delivery {
  return new QueueDelivery(options);
}

class QueueDelivery implements Delivery {
  readonly counters: DeliveryCounters = {
    delivered: 0,
    deadLettered: 0,
    requests: 0,
    deadLettersByStatus: new Map(),
    lastSuccessMs: undefined,
    lastNotDeliveredMs: undefined,
    lastReason: undefined,
  };
  /** The batch being acknowledged: see {@link settled}. */
  private acking:
    { acknowledgedBefore: number; lines: number; delivered: number; letters: number } | undefined;
  private readonly open: OpenBatch[] = [];
  private pending: PendingLine[] = [];
  private waitUntil: number | undefined;
  /** The pause before the next resend when a round delivers nothing; back to the least after a delivery. */
  private resendPauseMs = MIN_RESEND_PAUSE_MS;
  private nextOrdinal: number;
  private running: Promise<PassReport> | undefined;
  /** Set when entries may have been appended after the running pass found the queue empty. */
  private dirty = false;
  private readonly now: () => number;
  private readonly readEntries: number;
  private readonly readBytes: number;

  constructor(private readonly options: DeliveryOptions) {
    this.now = options.now ?? Date.now;
    this.readEntries = options.readEntries ?? DEFAULT_READ_ENTRIES;
    this.readBytes = options.readBytes ?? DEFAULT_READ_BYTES;
    // Reading starts at the oldest unacknowledged entry, whose lifetime ordinal is the count before it.
    const stats = options.queue.stats();
    this.nextOrdinal = stats.acknowledged + stats.dropped;
  }

  settled(): { delivered: number; deadLettered: number } {
    const { delivered, deadLettered } = this.counters;
    const a = this.acking;
    // The queue takes the entries off its count in the step that makes the ack durable, which comes before
    // the pass resumes: in between, count the batch as settled, as the queue already does.
    if (a !== undefined && this.options.queue.stats().acknowledged >= a.acknowledgedBefore + a.lines) {
      return { delivered: delivered + a.delivered, deadLettered: deadLettered + a.letters };
    }
    return { delivered, deadLettered };
  }

  get pendingLines(): number {
    return this.pending.length;
  }

  get retryAt(): number | undefined {
    return this.pending.length > 0 ? this.waitUntil : undefined;
  }

  get halted(): string | undefined {
    return this.options.sink.halted;
  }

  kick(): void {
    this.dirty = true;
    if (this.running === undefined) void this.start({});
  }

  async pass(options: PassOptions = {}): Promise<PassReport> {
    // Join a running pass, then run one more so that what was appended meanwhile is sent too.
    while (this.running !== undefined) await this.running.catch(() => undefined);
    return this.start(options);
  }

  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
  }

  private start(options: PassOptions): Promise<PassReport> {
    const run = this.run(options).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    // A background pass (kick) has no caller to hear its failure: it is kept for the next pass to
    // rethrow through `pass()`'s own run, and must not crash the process as an unhandled rejection.
    void run.catch(() => undefined);
    return run;
  }

  private async run(options: PassOptions): Promise<PassReport> {
    const window: Call[] = [];
    try {
      return await this.runWindow(window, options);
    } catch (error) {
      // The queue failed under us (a read or an acknowledgement): forget what is in memory and start again
      // from the oldest unacknowledged entry. Re-sending lines already delivered is harmless; losing the
      // books on calls in flight is not, so they are let finish first.
      await Promise.allSettled(window.map((call) => call.result));
      this.forget();
      throw error;
    }
  }

  /** Drops the in-memory state; the next read starts again at the oldest unacknowledged entry. */
  private forget(): void {
    this.options.queue.rewind();
    this.open.length = 0;
    this.pending = [];
    this.waitUntil = undefined;
    const stats = this.options.queue.stats();
    this.nextOrdinal = stats.acknowledged + stats.dropped;
  }

  private async runWindow(window: Call[], options: PassOptions): Promise<PassReport> {
    const report: PassReport = {
      delivered: 0,
      deadLettered: 0,
      requests: 0,
      stalled: undefined,
      retryAt: undefined,
    };
    let unansweredLines = 0;
    let unansweredBytes = 0;
    // Set by a halt or an abort: send nothing more, let the calls written answer, then end the pass.
    let stop = false;
    this.dirty = false;
    for (;;) {
      stop ||= options.signal?.aborted === true;
      if (!stop && this.pending.length > 0 && window.length === 0) {
        // Lines not delivered go first, once every call written before them has answered.
        const wait = (this.waitUntil ?? 0) - this.now();
        if (wait > (options.maxRetryWaitMs ?? 0)) break;
        if (wait > 0) {
          await sleep(wait, options.signal);
          continue;
        }
        for (const call of this.resendPending()) {
          window.push(call);
          unansweredLines += call.lines;
          unansweredBytes += call.bytes;
        }
      }
      while (
        !stop &&
        this.pending.length === 0 &&
        unansweredLines < this.options.maxUnansweredLines &&
        unansweredBytes < this.options.maxUnansweredBytes
      ) {
        const batch = await this.options.queue.read({
          maxEntries: this.readEntries,
          maxBytes: this.readBytes,
        });
        if (batch.entries.length > 0) {
          const call = this.sendBatch(batch);
          window.push(call);
          unansweredLines += call.lines;
          unansweredBytes += call.bytes;
        } else if (this.dirty) {
          // Appended while this pass was reading: look once more before calling the queue empty.
          this.dirty = false;
        } else {
          break;
        }
      }
      const call = window.shift();
      if (call === undefined) {
        if (!stop && this.pending.length > 0) continue;
        break;
      }
      unansweredLines -= call.lines;
      unansweredBytes -= call.bytes;
      const result = await call.result;
      this.settle(call, result, report);
      await this.acknowledgeSettled(report);
      if (result.halted !== undefined) stop = true;
    }
    if (this.pending.length > 0) {
      report.stalled = this.halted ?? this.counters.lastReason ?? "lines wait to be sent again";
      report.retryAt = this.waitUntil;
    }
    return report;
  }

  private sendBatch(batch: QueueBatch): Call {
    const open: OpenBatch = {
      batch,
      ordinal: this.nextOrdinal,
      unsettled: batch.entries.length,
      letters: [],
    };
    this.nextOrdinal += batch.entries.length;
    this.open.push(open);
    const lines = new Array<string>(batch.entries.length);
    let bytes = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = batch.entries[i]!.line;
      lines[i] = line;
      bytes += line.length;
    }
    return {
      parts: [{ open, indices: undefined }],
      lines: lines.length,
      bytes,
      result: this.options.sink.write(lines),
    };
  }

  /** The pending lines, in queue order, as calls of at most `readEntries` lines. */
  private resendPending(): Call[] {
    const calls: Call[] = [];
    const pending = this.pending;
    this.pending = [];
    // Should this round deliver nothing again, the next one waits twice as long (a delivery resets it).
    this.resendPauseMs = Math.min(this.resendPauseMs * 2, MAX_RESEND_PAUSE_MS);
    for (let start = 0; start < pending.length; start += this.readEntries) {
      const slice = pending.slice(start, start + this.readEntries);
      const parts: CallPart[] = [];
      const lines: string[] = [];
      let bytes = 0;
      let part: { open: OpenBatch; indices: number[] } | undefined;
      for (const { open, index } of slice) {
        if (part?.open !== open) {
          part = { open, indices: [] };
          parts.push(part);
        }
        part.indices.push(index);
        const line = open.batch.entries[index]!.line;
        lines.push(line);
        bytes += line.length;
      }
      calls.push({ parts, lines: lines.length, bytes, result: this.options.sink.write(lines) });
    }
    return calls;
  }

  private settle(call: Call, result: WriteResult, report: PassReport): void {
    this.counters.requests += result.requests;
    report.requests += result.requests;
    if (result.delivered > 0) {
      this.counters.lastSuccessMs = this.now();
      this.resendPauseMs = MIN_RESEND_PAUSE_MS;
    }
    const time = new Date(this.now()).toISOString();
    let k = 0;
    for (const { open, indices } of call.parts) {
      const count = indices === undefined ? open.batch.entries.length : indices.length;
      for (let j = 0; j < count; j++, k++) {
        const index = indices === undefined ? j : indices[j]!;
        const outcome = result.outcomes[k]!;
        if (outcome.kind === "delivered") {
          open.unsettled--;
        } else if (outcome.kind === "rejected") {
          const entry = open.batch.entries[index]!;
          open.letters.push({
            line: entry.line,
            table: entry.table,
            status: outcome.status,
            reason: outcome.message,
            time,
            ordinal: open.ordinal + index,
          });
          open.unsettled--;
        } else {
          this.pending.push({ open, index });
          this.counters.lastReason = outcome.reason;
          if (this.waitUntil === undefined || outcome.retryAt > this.waitUntil)
            this.waitUntil = outcome.retryAt;
        }
      }
    }
    if (result.notDelivered > 0) {
      this.counters.lastNotDeliveredMs = this.now();
      // The pause doubles per round sent again (in resendPending), not per call: one failed round of
      // several calls must not push it to the most at once.
      const floor = this.now() + this.resendPauseMs;
      if (result.delivered === 0 && this.waitUntil !== undefined && this.waitUntil < floor)
        this.waitUntil = floor;
    }
    // Pending lines of several calls must stay in queue order: calls answer in call order, and a call's
    // lines are in queue order, except that a resend's lines precede those of calls read after it.
    if (this.pending.length > 1) this.pending.sort(compareQueueOrder);
    if (this.pending.length === 0) this.waitUntil = undefined;
  }

  /** Acknowledges, in order, every batch at the head whose lines are all delivered or dead-lettered. */
  private async acknowledgeSettled(report: PassReport): Promise<void> {
    while (this.open.length > 0 && this.open[0]!.unsettled === 0) {
      const open = this.open[0]!;
      // Refused lines reach their file (fsynced) before the queue lets go of them.
      if (open.letters.length > 0) await this.options.deadLetters.append(open.letters);
      const letters = open.letters.length;
      const delivered = open.batch.entries.length - letters;
      const acknowledgedBefore = this.options.queue.stats().acknowledged;
      this.acking = { acknowledgedBefore, lines: open.batch.entries.length, delivered, letters };
      try {
        await this.options.queue.ack(open.batch);
      } finally {
        this.acking = undefined;
      }
      this.open.shift();
      this.counters.delivered += delivered;
      this.counters.deadLettered += letters;
      report.delivered += delivered;
      report.deadLettered += letters;
      for (const letter of open.letters) {
        this.counters.deadLettersByStatus.set(
          letter.status,
          (this.counters.deadLettersByStatus.get(letter.status) ?? 0) + 1,
        );
      }
    }
  }
}

function compareQueueOrder(a: PendingLine, b: PendingLine): number {
  return a.open.ordinal + a.index - (b.open.ordinal + b.index);
}
