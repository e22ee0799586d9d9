import { promisify } from "node:util";
import { deflateRawSync, gzip, inflateRawSync } from "node:zlib";
import { createQueue, type Codec, type Queue, type QueueBatch } from "edr-queue";
import type { Call } from "../call.js";
import { diskFullCode } from "../listen/disk-full-gate.js";
import type { ReplicatorLogger } from "../logger.js";
import type { IntakeLine, ReceivedWrite, WriteIntake } from "../listen/write-intake.js";
import { fullRefusal } from "../queue-full.js";
import { sleep } from "../sleep.js";
import type { DirectWrites } from "./direct-writes.js";
import { decodeEntry, entryLineCount, linesOfDecoded, storedCount, toEntry } from "./received-write.js";

/** When the move to the queue gives way to writes, and when writers wait for it. */
export interface MoveLimits {
  /**
   * While writes keep coming (less than `quietMs` apart) and the work besides the move's keeps the event loop
   * busier than `busyShare` of the time (0 to 1), the move waits...
   */
  readonly quietMs: number;
  readonly busyShare: number;
  /** ...but for no longer than this (ms): a received write older than it is moved however busy it is. */
  readonly maxWaitMs: number;
  /** With more lines than this received and not moved, writers wait for the move (back-pressure). */
  readonly maxBacklogLines: number;
}

/**
 * The move waits while writes keep coming within 50 ms of each other and other work keeps the event loop busy
 * more than half the time; 2 s is the longest a write waits to be moved; a backlog of 1,000,000 lines (a few
 * seconds of the move's work) slows writers to the move's pace.
 */
export const DEFAULT_MOVE_LIMITS: MoveLimits = {
  quietMs: 50,
  busyShare: 0.5,
  maxWaitMs: 2000,
  maxBacklogLines: 1_000_000,
};
/** The shortest stretch of time over which the event loop's business is read, ms... */
const BUSY_SAMPLE_MS = 10;
/** ...and the longest, beyond which it is read again. */
const BUSY_STALE_MS = 100;

const gzipAsync = promisify(gzip);

/**
 * The log's codec: bodies are kept gzipped (see acceptWrite), and base64 is no text to compress, so deflate
 * would only spend time (5 ms a 10,000-line body, for a quarter less). Level 0 stores, on the main thread: 0.2 ms
 * for that body, where edr-queue's trip to the thread pool costs the main thread 0.5 ms.
 */
const STORE: Codec = {
  name: "zlib-store",
  deflateRaw: (data) => deflateRawSync(data, { level: 0 }),
  inflateRaw: (data, size) =>
    inflateRawSync(data, { chunkSize: Math.max(size, 64), maxOutputLength: Math.max(size, 64) }),
};
/** What writers are told to wait while the move cannot write to the disk. */
const DISK_FULL_RETRY_AFTER_SECONDS = 5;
/**
 * The log's segments are small (edr-queue's defaults: 16 MiB, and a drained head is deleted from 1 MiB): its
 * writes are moved within seconds, and the room a moved segment holds is what the move needs next when the
 * disk is nearly full. Each segment is deleted as soon as all its writes are moved.
 */
const SEGMENT_BYTES = 1024 * 1024;
const RECLAIM_BYTES = 256 * 1024;

/** A write read from the log, decoded. */
interface Received {
  readonly batch: QueueBatch;
  readonly lines: IntakeLine[];
  readonly outOfRange: number;
  /** Lines the write holds (its particulars say). */
  readonly count: number;
}

/** Level 1, and one output chunk of a quarter of the body: lines compress 4-8x, so zlib comes back once. */
function gzipOptions(body: Buffer): { level: number; chunkSize: number } {
  return { level: 1, chunkSize: (body.length >> 2) + 1024 };
}

/** Options of {@link openReceivedLog}. */
export interface ReceivedLogOptions {
  /** The queue directory. */
  readonly dir: string;
  /** The main queue's name: the log is the queue `<name>_received` beside it. */
  readonly name: string;
  /** Bound on the log's bytes (the main queue's `max_size`). */
  readonly maxBytes: number;
  readonly fsync: "always" | "batch" | "never";
  readonly onWarning: (message: string) => void;
}

/** The received log's name: `<main queue name>_received` (`edr_queue_writes_received.jsonl.gz`). */
export function receivedLogName(queueName: string): string {
  return `${queueName}_received`;
}

/** The log's queue, opened (taking its lock), and the lines an earlier run left in it. */
export interface OpenedReceivedLog {
  readonly queue: Queue;
  readonly leftoverLines: number;
}

/** Opens the received log of a main queue and counts what an earlier run left in it. */
export async function openReceivedLog(options: ReceivedLogOptions): Promise<OpenedReceivedLog> {
  const queue = await createQueue({
    dir: options.dir,
    name: receivedLogName(options.name),
    maxBytes: options.maxBytes,
    fsync: options.fsync,
    codec: STORE,
    segmentBytes: SEGMENT_BYTES,
    reclaimBytes: RECLAIM_BYTES,
    onWarning: options.onWarning,
  });
  try {
    return { queue, leftoverLines: await countLines(queue) };
  } catch (error) {
    await queue.close();
    throw error;
  }
}

/** The lines a received log holds, read once; the next read starts again at the oldest write. */
export async function countLines(queue: Queue): Promise<number> {
  let lines = 0;
  for (;;) {
    const batch = await queue.read({ maxEntries: 1000 });
    if (batch.entries.length === 0) break;
    for (const entry of batch.entries) lines += entryLineCount(entry);
  }
  queue.rewind();
  return lines;
}

/**
 * On-write replication without downsampling: each write's body goes to this log as it was received, fsynced,
 * before the writer is answered; the transform and the durable append to the main queue come after, off the
 * writer's path (`moveOn`, every flush interval, as the engine runs `process_writes` after each WAL flush).
 * The writer waits for one small append: its lines are found (split-lines.ts), not made into strings, transformed
 * or serialized.
 *
 * Writes come first: while they keep coming (less than `quietMs` apart) and keep the event loop busier than
 * `busyShare` of the time, the move waits, for at most `maxWaitMs` of its oldest write's age. A burst is
 * answered at the speed of the log and moved as soon as it eases; at a lighter load the move follows each
 * write at once. Past `maxBacklogLines` lines not yet moved, writers wait for the move: under a load above
 * what the transform and the queue can take, writers are slowed to their pace.
 *
 * A crash loses nothing: what the log holds is moved on the next start. A write moved to the queue and not yet
 * acknowledged in the log (a crash between the two) is moved again: its points reach the remote twice, the
 * same points with the same values, which InfluxDB stores once.
 */
export class ReceivedLog implements WriteIntake {
  /** Lines received and not yet moved to the queue. */
  private pendingLines: number;
  /** The event loop's utilization when its business was last read, and the move's own time since. */
  /** When the last write was received (performance.now()). */
  private lastWriteAt = -Infinity;
  private busySince = performance.eventLoopUtilization();
  private ownMs = 0;
  /** The share last read (see othersBusyShare), undefined when it is stale. */
  private lastShare: number | undefined;
  private readonly backlogWaiters: (() => void)[] = [];
  private closed = false;
  /** Set while moving fails because the disk is full: writes wait until a move goes through again. */
  private diskFull: string | undefined;

  readonly queue: Queue;

  constructor(
    opened: OpenedReceivedLog,
    private readonly direct: DirectWrites,
    private readonly maxBytes: number,
    private readonly logger: Pick<ReplicatorLogger, "info" | "warn">,
    private readonly limits: MoveLimits = DEFAULT_MOVE_LIMITS,
  ) {
    this.queue = opened.queue;
    this.pendingLines = opened.leftoverLines;
  }

  refusal(): { retryAfterSeconds: number; reason: string } | undefined {
    const refusal = this.direct.refusal();
    if (refusal !== undefined) return refusal;
    if (this.diskFull !== undefined) {
      // The log would only take the room the move needs: nothing more is received until it goes through.
      return { retryAfterSeconds: DISK_FULL_RETRY_AFTER_SECONDS, reason: this.diskFull };
    }
    return fullRefusal(
      this.queue,
      this.maxBytes,
      "the log of writes received is full",
      "they are not moved to the queue as fast as they come",
    );
  }

  /** Lines handed over one by one (the table-batches endpoint) skip the log: they go to the queue at once. */
  accept(lines: readonly IntakeLine[]): Promise<number> {
    return this.direct.accept(lines);
  }

  async acceptWrite(write: ReceivedWrite): Promise<number> {
    const count = storedCount(write);
    if (count === 0) return 0;
    // A plain body is kept gzipped (level 1, on the thread pool: 5 ms and a fifth of the bytes for 10,000
    // lines), as the queue would keep its lines: the log must not take the room the move needs.
    const kept =
      write.encoding === "gzip"
        ? write
        : { ...write, wire: await gzipAsync(write.wire, gzipOptions(write.wire)), encoding: "gzip" };
    await this.queue.append([toEntry(kept)]);
    this.pendingLines += count;
    this.lastWriteAt = performance.now();
    while (this.pendingLines > this.limits.maxBacklogLines && !this.closed)
      await new Promise<void>((r) => this.backlogWaiters.push(r));
    return count;
  }

  /** Lines received and not yet moved to the queue. */
  get lines(): number {
    return this.pendingLines;
  }

  /** Whether the log holds writes not yet moved. */
  hasWork(): boolean {
    return this.queue.stats().entries > 0;
  }

  /**
   * Moves the writes the log holds now, one at a time and in order, through the transform to the main queue,
   * each acknowledged in the log once durable there; for `forMs` (default 0) it also moves those that come
   * meanwhile (one call reports a flush interval's work, not each write's). Gives way to writes first (see
   * the class); `closing` moves everything at once.
   */
  async moveOn(call: Call, options: { closing?: boolean; forMs?: number } = {}): Promise<void> {
    let held = this.queue.stats().entries;
    if (held === 0) return;
    const closing = options.closing === true;
    const until = closing ? Infinity : performance.now() + (options.forMs ?? 0);
    let next: Promise<Received | undefined> | undefined = this.readNext(closing);
    try {
      while (next !== undefined) {
        const current = await next;
        next = undefined;
        if (current === undefined) return;
        if (current.outOfRange > 0) {
          call.log.warn(
            `${current.outOfRange} lines the local instance stored have a timestamp outside the nanosecond range; not queued`,
          );
        }
        // Transformed and serialized now; the next write is read while this one is written and fsynced.
        const started = performance.now();
        const queued = this.acceptInto(call, current.lines);
        this.ownMs += performance.now() - started;
        // The current write is still in the log until acknowledged: more than one means more to move.
        const more = this.queue.stats().entries > 1;
        if (--held > 0 || (more && performance.now() < until)) next = this.readNext(closing);
        await queued;
        // Counted out of the log as they are counted into the queue: status's accepted + intake stays whole.
        this.pendingLines = Math.max(0, this.pendingLines - current.count);
        if (this.pendingLines <= this.limits.maxBacklogLines)
          for (const wake of this.backlogWaiters.splice(0)) wake();
        await this.queue.ack(current.batch);
      }
    } finally {
      await next?.catch(() => undefined);
      // A write read and not moved (read ahead, or its move failed) is read again by the next move: every
      // write moved was acknowledged, so reading starts again at the first one that was not.
      this.queue.rewind();
    }
  }

  /** Queues lines moved from the log; a disk found full holds writes back until a move goes through. */
  private async acceptInto(call: Call, lines: readonly IntakeLine[]): Promise<void> {
    try {
      await this.direct.acceptInto(call, lines);
      if (this.diskFull !== undefined) {
        this.diskFull = undefined;
        this.logger.info("[edr listen] the disk under the queue has room again: writes are taken again");
      }
    } catch (error) {
      const code = diskFullCode(error);
      if (code !== undefined && this.diskFull === undefined) {
        this.diskFull = `the disk under the queue is full (${code}): writes received cannot be moved to the queue`;
        this.logger.warn(
          `[edr listen] the disk under the queue is full (${code}): writes received cannot be moved to the ` +
            `queue, and new writes are answered 503 until they are`,
        );
      }
      throw error;
    }
  }

  /** The next write in the log (once writes give way), decoded into lines; undefined when there is none. */
  private async readNext(closing: boolean): Promise<Received | undefined> {
    if (!closing) await this.giveWay();
    const batch = await this.queue.read({ maxEntries: 1 });
    const entry = batch.entries[0];
    if (entry === undefined) return undefined;
    const decoded = await decodeEntry(entry);
    const started = performance.now();
    const { lines, outOfRange } = linesOfDecoded(decoded);
    this.ownMs += performance.now() - started;
    return { batch, lines, outOfRange, count: entryLineCount(entry) };
  }

  /** Waits while writes keep the event loop busy, within the bounds of the class's comment. */
  private async giveWay(): Promise<void> {
    for (;;) {
      if (this.diskFull !== undefined) return;
      if (this.pendingLines > this.limits.maxBacklogLines) return;
      if ((this.queue.stats().oldestAgeMs ?? 0) >= this.limits.maxWaitMs) return;
      // Sending is the move's fellow background work, not writes': between bursts the move goes on.
      if (performance.now() - this.lastWriteAt >= this.limits.quietMs) return;
      if ((await this.othersBusyShare()) < this.limits.busyShare) return;
      await sleep(BUSY_SAMPLE_MS);
    }
  }

  /**
   * The share of the last {@link BUSY_SAMPLE_MS} or more that the event loop spent on work other than the move's
   * own (reading lines, transforming, serializing): answering writes above all. A share read less than that
   * ago is given again, so a move that keeps going checks every 10 ms, not before every write; one read over
   * more than {@link BUSY_STALE_MS} is read again (it says little about now).
   */
  private async othersBusyShare(): Promise<number> {
    let since = performance.eventLoopUtilization(this.busySince);
    if (since.idle + since.active > BUSY_STALE_MS) {
      this.restartBusy();
      this.lastShare = undefined;
      since = performance.eventLoopUtilization(this.busySince);
    }
    const span = since.idle + since.active;
    if (span < BUSY_SAMPLE_MS) {
      if (this.lastShare !== undefined) return this.lastShare;
      await sleep(BUSY_SAMPLE_MS - span);
      since = performance.eventLoopUtilization(this.busySince);
    }
    const share = Math.max(0, since.active - this.ownMs) / (since.idle + since.active);
    this.restartBusy();
    this.lastShare = share;
    return share;
  }

  private restartBusy(): void {
    this.busySince = performance.eventLoopUtilization();
    this.ownMs = 0;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const wake of this.backlogWaiters.splice(0)) wake();
    return this.queue.close();
  }
}
