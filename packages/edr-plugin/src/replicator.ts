import type { ScheduledConfig, WritesConfig } from "edr-args";
import type { Sink } from "edr-sink";
import { createTransform } from "edr-transform";
import { errorMessage, finishCall, logQueued, startCall, type Call } from "./call.js";
import { replayDeadLetters, type ReplayOptions, type ReplayResult } from "./dead-letter-replay.js";
import { createDelivery, type Delivery } from "./delivery.js";
import { DrainLoop } from "./drain-loop.js";
import { PluginError } from "./errors.js";
import type { IntakeLine, WriteIntake } from "./listen/write-intake.js";
import { DirectWrites } from "./on-write/direct-writes.js";
import { ReceivedLog } from "./on-write/received-log.js";
import { linesOfEntry } from "./on-write/received-write.js";
import { WriteFlusher } from "./on-write/write-flush.js";
import { Pipeline } from "./pipeline.js";
import { createInfluxQLReader } from "./readers/influxql-reader.js";
import type { LocalReader } from "./readers/local-reader.js";
import { createSqlReader } from "./readers/sql-reader.js";
import { fullRefusal } from "./queue-full.js";
import { closeFiles, openParts, type Parts } from "./replicator-parts.js";
import type {
  CallReport,
  DrainReport,
  Replicator,
  ReplicatorOptions,
  ReplicatorStatus,
  TableBatch,
} from "./replicator-types.js";
import { copyScheduledWindows } from "./scheduled-call.js";
import { sleep } from "./sleep.js";

/** Default flush interval of on-write mode: 1 s, like the engine's WAL flush. */
/** Bytes of line protocol unanswered per lane of the sink, and at least in all (see the delivery below). */
const UNANSWERED_BYTES_PER_LANE = 2 * 1024 * 1024;
const MIN_UNANSWERED_BYTES = 8 * 1024 * 1024;

export const DEFAULT_FLUSH_INTERVAL_MS = 1000;

/**
 * Opens the replicator of one config: its queue (taking the queue's lock), sink, transform, dead-letter file
 * and, in scheduled mode, the watermarks; in on-write mode the intake (and, with downsampling, the late-letter
 * file and the state of the buckets emitted). The local reader is made on first use. Close it with `close()`.
 */
export async function createReplicator(
  config: ScheduledConfig | WritesConfig,
  options: ReplicatorOptions = {},
): Promise<Replicator> {
  return new ConfiguredReplicator(await openParts(config, options));
}

class ConfiguredReplicator implements Replicator {
  readonly config: ScheduledConfig | WritesConfig;
  private readonly delivery: Delivery;
  private readonly pipeline: Pipeline;
  /** On-write mode with downsampling: moves the intake on, bucket by bucket. */
  private readonly flusher: WriteFlusher | undefined;
  /** On-write mode without downsampling: lines go through the transform straight to the queue. */
  private readonly direct: DirectWrites | undefined;
  /** On-write mode without downsampling: the writes as received, moved on to the queue by the flushes. */
  private readonly received: ReceivedLog | undefined;
  private reader: LocalReader | undefined;
  /** How long one flush moves received writes for (the flush interval once `start` ran). */
  private flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS;
  private closed: Promise<void> | undefined;
  /** Calls run one at a time, in the order they were made. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Calls running or waiting: the drain loop stands aside meanwhile (a call sends what it queued). */
  private callsInProgress = 0;
  private readonly drainLoop: DrainLoop;
  private readonly background = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly sink: Sink;

  constructor(private readonly parts: Parts) {
    const { config, queue, deadLetters, book, sink } = parts;
    this.sink = sink;
    this.config = config;
    const remote = config.remote;
    this.delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      // The sink's advice: about 2 x maxInFlight x batchLines lines unanswered keep every lane full. In bytes
      // no more than a few reads per lane: lines in flight outlive the young generation, so every byte held
      // here is old-space garbage later (the default 48 MiB made a backlog drain peak at ~500 MB RSS, 8 MiB
      // at ~250 MB, at the same speed: see the catch-up bench).
      maxUnansweredLines: 2 * remote.maxInFlight * remote.batchLines,
      maxUnansweredBytes: Math.min(
        2 * remote.maxInFlight * remote.batchBytes,
        Math.max(UNANSWERED_BYTES_PER_LANE * remote.maxInFlight, MIN_UNANSWERED_BYTES),
      ),
      readEntries: Math.min(remote.batchLines, 10_000),
      now: parts.now,
    });
    // Downsampling is done per window or per bucket by the calls, so the transform filters, excludes, renames.
    const { downsampling: _byTheCalls, ...rules } = config.transform;
    this.pipeline = new Pipeline(createTransform(rules), queue, this.delivery, book);
    this.reader = parts.options.reader;
    this.drainLoop = new DrainLoop({
      delivery: this.delivery,
      queue,
      logger: parts.logger,
      busy: () => this.callsInProgress > 0,
    });
    if (config.mode === "writes" && parts.intake !== undefined) {
      this.flusher = new WriteFlusher({
        config,
        pipeline: this.pipeline,
        intake: parts.intake,
        book,
        state: parts.downsamplingState,
        lateLetters: parts.lateLetters,
        now: parts.now,
      });
    } else if (config.mode === "writes") {
      this.direct = new DirectWrites({
        pipeline: this.pipeline,
        tables: config.transform.tables,
        refusal: () => fullRefusal(queue, config.queue.maxBytes),
        startCall: () => {
          const call = this.startCall();
          call.log.info("Starting data replication process");
          return call;
        },
      });
      this.received = new ReceivedLog(parts.received!, this.direct, config.queue.maxBytes, parts.logger);
    }
  }

  get intake(): WriteIntake | undefined {
    return this.received ?? this.parts.intake;
  }

  processScheduledCall(callTime: Date): Promise<CallReport> {
    const config = this.config;
    if (config.mode !== "scheduled") {
      return Promise.reject(
        new PluginError("INVALID_ARGUMENT", "processScheduledCall needs a scheduled-mode config (window=…)"),
      );
    }
    return this.serial(async () => {
      const call = this.startCall();
      try {
        const parts = {
          config,
          pipeline: this.pipeline,
          reader: this.localReader(),
          watermarks: this.parts.watermarks!,
        };
        await copyScheduledWindows(call, parts, callTime);
      } catch (error) {
        call.fail(errorMessage(error));
      }
      return this.finish(call, true);
    });
  }

  processWrites(tableBatches: readonly TableBatch[]): Promise<CallReport> {
    this.assertWritesMode("processWrites");
    return this.serial(async () => {
      const call = this.startCall();
      call.log.info("Starting data replication process");
      try {
        const lines = await this.linesOf(tableBatches);
        if (this.direct !== undefined) {
          await this.moveLeftoverIntake(call);
          await this.direct.acceptInto(call, lines);
        } else {
          await this.moveLeftoverReceived(call);
          await this.parts.intake!.accept(lines);
          await this.flusher!.flush(call);
        }
      } catch (error) {
        call.fail(errorMessage(error));
      }
      logQueued(call);
      return this.finish(call, true);
    });
  }

  async acceptTableBatches(tableBatches: readonly TableBatch[]): Promise<number> {
    this.assertWritesMode("acceptTableBatches");
    this.assertOpen();
    return this.intake!.accept(await this.linesOf(tableBatches));
  }

  /** The engine's rows as lines, the columns' kinds read from the local instance. */
  private async linesOf(tableBatches: readonly TableBatch[]): Promise<IntakeLine[]> {
    const lines: IntakeLine[] = [];
    for (const { table_name: table, rows } of tableBatches) {
      if (rows.length === 0) continue;
      const converter = this.pipeline.converter(table, await this.localReader().readColumns(table));
      const converted = converter.toLines(rows);
      if (converted.rejected.length > 0) {
        // Counted, and logged with the rows, under a call of their own.
        const call = this.startCall(false);
        this.pipeline.refuseRows(call, table, rows, converted.rejected);
      }
      for (const line of converted.items) lines.push({ table, line });
    }
    return lines;
  }

  flush(): Promise<CallReport | undefined> {
    this.assertWritesMode("flush");
    return this.serial(() => this.flushNow(), { standAside: false });
  }

  /**
   * One flush as a call of the seed's shape; nothing is logged when there was nothing to move. `closing`: the
   * last one, which moves what was received without waiting for writes to pause.
   */
  private async flushNow(closing = false): Promise<CallReport | undefined> {
    if (this.direct !== undefined) {
      // Lines handed over one by one went to the queue as they came: the flush reports them in its call.
      let call = this.direct.takeCall();
      if (call === undefined && this.parts.leftoverIntake === undefined && !this.received!.hasWork())
        return undefined;
      if (call === undefined) {
        call = this.startCall();
        call.log.info("Starting data replication process");
      }
      try {
        await this.moveLeftoverIntake(call);
        await this.received!.moveOn(call, { closing, forMs: this.flushIntervalMs });
      } catch (error) {
        call.fail(errorMessage(error));
      }
      logQueued(call);
      return this.finish(call, false);
    }
    if (!this.flusher!.hasWork() && this.parts.leftoverReceived === undefined) return undefined;
    const call = this.startCall();
    call.log.info("Starting data replication process");
    try {
      await this.moveLeftoverReceived(call);
      await this.flusher!.flush(call);
    } catch (error) {
      call.fail(errorMessage(error));
    }
    logQueued(call);
    // The drain loop sends what was queued: a flush never waits for the remote.
    return this.finish(call, false);
  }

  /** Lines an earlier run with downsampling left in its intake go on to the queue, once. */
  private async moveLeftoverIntake(call: Call): Promise<void> {
    const leftover = this.parts.leftoverIntake;
    if (leftover === undefined) return;
    for (;;) {
      const batch = await leftover.read({ maxEntries: 10_000 });
      if (batch.entries.length === 0) break;
      await this.direct!.acceptInto(call, batch.entries);
      await leftover.ack(batch);
    }
    await leftover.close();
    this.parts.leftoverIntake = undefined;
  }

  /** Writes an earlier run without downsampling left in its received log go into the intake, once. */
  private async moveLeftoverReceived(call: Call): Promise<void> {
    const leftover = this.parts.leftoverReceived;
    if (leftover === undefined) return;
    for (;;) {
      const batch = await leftover.read({ maxEntries: 1 });
      const entry = batch.entries[0];
      if (entry === undefined) break;
      const { lines, outOfRange } = await linesOfEntry(entry);
      if (outOfRange > 0)
        call.log.warn(`${outOfRange} lines with a timestamp outside the nanosecond range; not queued`);
      await this.parts.intake!.accept(lines);
      await leftover.ack(batch);
    }
    await leftover.close();
    this.parts.leftoverReceived = undefined;
  }

  start(options: { flushIntervalMs?: number } = {}): void {
    this.assertOpen();
    if (this.loops.length > 0) return;
    const signal = this.background.signal;
    this.loops.push(this.drainLoop.run(signal));
    if (this.config.mode === "writes") {
      const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
      this.flushIntervalMs = interval;
      this.loops.push(this.flushLoop(interval, signal));
    }
  }

  async drain(options: { signal?: AbortSignal } = {}): Promise<DrainReport> {
    this.assertOpen();
    const signal = options.signal;
    const pass = await this.delivery.pass(signal === undefined ? {} : { signal });
    return {
      delivered: pass.delivered,
      deadLettered: pass.deadLettered,
      requests: pass.requests,
      remaining: this.parts.queue.stats().entries,
      stalled: pass.stalled,
    };
  }

  replayDeadLetters(options: ReplayOptions = {}): Promise<ReplayResult> {
    return this.serial(async () => {
      await this.delivery.idle();
      return replayDeadLetters(this.parts.deadLetters, this.sink, options);
    });
  }

  status(): ReplicatorStatus {
    const { queue, config, book, intake, watermarks } = this.parts;
    const received = this.received?.queue.stats();
    return book.snapshot({
      queue,
      queueName: config.queue.name,
      queueDir: config.queue.dir,
      maxBytes: config.queue.maxBytes,
      delivery: this.delivery,
      intake:
        config.mode === "scheduled"
          ? undefined
          : {
              stats:
                received === undefined
                  ? intake?.queue.stats()
                  : { ...received, entries: this.received!.lines },
              emittedUntilNs: this.flusher?.emittedUntilNs,
            },
      receivedAgeMs: received?.oldestAgeMs,
      refusal: this.intake?.refusal()?.reason,
      watermarks: watermarks?.entries(),
      now: this.parts.now(),
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.background.abort();
      await Promise.allSettled(this.loops);
      await this.chain.catch(() => undefined);
      // What the intake holds goes to the queue now (open buckets stay for the next start).
      if (this.config.mode === "writes") await this.flushNow(true).catch(() => undefined);
      await this.delivery.idle();
      await this.sink.close();
      await this.received?.close();
      await closeFiles(this.parts);
    })();
    return this.closed;
  }

  /**
   * Runs calls one at a time. A call that sends what it queued (`standAside`) first makes the drain loop's pass
   * stop sending; a flush, which leaves the sending to the loop, does not interrupt it.
   */
  private serial<T>(work: () => Promise<T>, options: { standAside?: boolean } = {}): Promise<T> {
    this.assertOpen();
    this.callsInProgress++;
    if (options.standAside !== false) this.drainLoop.standAside();
    const run = this.chain.catch(() => undefined).then(work);
    this.chain = run.finally(() => {
      this.callsInProgress--;
      this.drainLoop.wake();
    });
    return run;
  }

  private startCall(withBook = true): Call {
    const book = withBook ? this.parts.book : { error: () => undefined };
    return startCall(this.parts.logger, this.delivery, book);
  }

  private finish(call: Call, waitForDelivery: boolean): Promise<CallReport> {
    const { queue, watermarks, deadLetters } = this.parts;
    return finishCall(call, {
      delivery: this.delivery,
      queued: () => queue.stats().entries,
      watermarks: watermarks?.entries(),
      deadLetterPath: deadLetters.path,
      waitForDelivery,
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new PluginError("CLOSED", "the replicator is closed");
  }

  private assertWritesMode(method: string): void {
    if (this.config.mode !== "writes") {
      throw new PluginError("INVALID_ARGUMENT", `${method} needs an on-write config (parseWritesConfig)`);
    }
  }

  private localReader(): LocalReader {
    if (this.reader) return this.reader;
    const local = this.config.local;
    if (local.database === undefined) {
      throw new PluginError(
        "INVALID_ARGUMENT",
        "local_database: expected the local database to read (the argument local_database, or --local-db)",
      );
    }
    const source = { url: local.url, database: local.database, token: local.token };
    this.reader =
      this.parts.options.localApi === "influxql" ? createInfluxQLReader(source) : createSqlReader(source);
    return this.reader;
  }

  /**
   * A flush every interval, as a call of its own; a slow flush delays the next one, and one that moved received
   * writes for its whole interval and left some behind is followed by the next at once.
   */
  private async flushLoop(intervalMs: number, signal: AbortSignal): Promise<void> {
    let moreReceived = false;
    while (!signal.aborted) {
      if (!moreReceived) await sleep(intervalMs, signal);
      if (signal.aborted) return;
      const started = performance.now();
      const report = await this.serial(() => this.flushNow(), { standAside: false }).catch(
        (error: unknown) => {
          this.parts.logger.error(`flush failed: ${errorMessage(error)}`);
        },
      );
      // A flush that moved writes for its whole interval and left some is followed at once; one that emptied
      // the log, or failed, waits its interval like any other (one call an interval, not one a write).
      const ranFull = performance.now() - started >= intervalMs;
      moreReceived =
        ranFull && report !== undefined && report.errors.length === 0 && this.received?.hasWork() === true;
    }
  }
}
