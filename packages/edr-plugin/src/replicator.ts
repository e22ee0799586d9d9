import type { ScheduledConfig, WritesConfig } from "edr-args";
import { createQueue, type Queue } from "edr-queue";
import { createSink, type Sink, type SinkLogger } from "edr-sink";
import { createTransform } from "edr-transform";
import { errorMessage, finishCall, logQueued, startCall, type Call } from "./call.js";
import { replayDeadLetters, type ReplayOptions, type ReplayResult } from "./dead-letter-replay.js";
import { createDeadLetterStore, type DeadLetterStore } from "./dead-letters.js";
import { createDelivery, type Delivery } from "./delivery.js";
import { PluginError } from "./errors.js";
import type { IntakeLine, WriteIntake } from "./listen/write-intake.js";
import { consoleLogger, type ReplicatorLogger } from "./logger.js";
import { openIntake, type Intake } from "./on-write/intake.js";
import { WriteFlusher } from "./on-write/write-flush.js";
import { Pipeline } from "./pipeline.js";
import { createInfluxQLReader } from "./readers/influxql-reader.js";
import type { LocalReader } from "./readers/local-reader.js";
import { createSqlReader } from "./readers/sql-reader.js";
import type {
  CallReport,
  DrainReport,
  Replicator,
  ReplicatorOptions,
  ReplicatorStatus,
  TableBatch,
} from "./replicator-types.js";
import { copyScheduledWindows } from "./scheduled-call.js";
import { createStatusBook, type StatusBook } from "./status.js";
import { createWatermarkStore, type WatermarkStore } from "./watermarks.js";

/** Default flush interval of on-write mode: 1 s, like the engine's WAL flush. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** The drain loop's longest pause while the remote is down (it starts at 1 s and doubles). */
const MAX_DRAIN_BACKOFF_MS = 30_000;
/** How often an idle drain loop looks at the queue (an append also wakes it). */
const DRAIN_IDLE_MS = 1000;
/** What a writer is told to wait when the queue is full. */
const FULL_RETRY_AFTER_SECONDS = 5;
/** The queue counts as full this close to `max_size`, so one more request still fits. */
const FULL_MARGIN_BYTES = 10 * 1024 * 1024;

/**
 * Opens the replicator of one config: its queue (taking the queue's lock), sink, transform, dead-letter file
 * and, in scheduled mode, the watermarks; in on-write mode the intake (and, with downsampling, the late-letter
 * file and the state of the buckets emitted). The local reader is made on first use. Close it with `close()`.
 */
export async function createReplicator(
  config: ScheduledConfig | WritesConfig,
  options: ReplicatorOptions = {},
): Promise<Replicator> {
  const logger = options.logger ?? consoleLogger;
  const now = options.now ?? Date.now;
  const { dir, name, maxBytes } = config.queue;
  const onWarning = (message: string) => logger.warn(message);
  const fsync = options.fsync ?? "always";
  const opened: { close(): Promise<void> }[] = [];
  try {
    const queue = await createQueue({ dir, name, maxBytes, fsync, onWarning });
    opened.push(queue);
    const deadLetters = await createDeadLetterStore({ dir, queueName: name, onWarning });
    opened.push(deadLetters);
    // A queue recreated from nothing counts its ordinals from 0 again: the old high-water mark would
    // swallow its first dead letters.
    const high = deadLetters.highestOrdinal();
    if (high !== undefined && high >= queue.stats().appended) deadLetters.resetOrdinals();
    const book = createStatusBook(config.mode, queue.stats().entries, now());
    const parts: Parts = { config, options, logger, now, queue, deadLetters, book };
    if (config.mode === "scheduled") {
      parts.watermarks = await createWatermarkStore({ dir, name, onWarning });
      opened.push(parts.watermarks);
    } else {
      parts.intake = await openIntake({
        dir,
        name,
        maxBytes,
        fsync,
        tables: config.transform.tables,
        refusal: () => fullRefusal(queue, maxBytes),
        onWarning,
      });
      opened.push(parts.intake);
      if (config.transform.downsampling !== undefined) {
        parts.downsamplingState = await createWatermarkStore({
          dir,
          name: `${name}_downsampling`,
          onWarning,
        });
        opened.push(parts.downsamplingState);
        parts.lateLetters = await createDeadLetterStore({ dir, queueName: `${name}_late`, onWarning });
        opened.push(parts.lateLetters);
      }
    }
    const sink = createSink({
      ...config.remote,
      logger: sinkLogger(logger),
      onAnswer: (answer) => book.answer(answer),
    });
    return new ConfiguredReplicator(parts, sink);
  } catch (error) {
    await Promise.allSettled(opened.map((part) => part.close()));
    throw error;
  }
}

/** Why writes must wait: the queue holds nearly `max_size` (a remote down for long, or halted). */
function fullRefusal(
  queue: Queue,
  maxBytes: number,
): { retryAfterSeconds: number; reason: string } | undefined {
  const { bytes } = queue.stats();
  if (bytes < maxBytes - Math.min(FULL_MARGIN_BYTES, maxBytes / 10)) return undefined;
  return {
    retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
    reason: `the replication queue is full (${bytes} of ${maxBytes} bytes, max_size): the remote is not keeping up`,
  };
}

/** Everything `createReplicator` opened, for the replicator to own. */
interface Parts {
  config: ScheduledConfig | WritesConfig;
  options: ReplicatorOptions;
  logger: ReplicatorLogger;
  now: () => number;
  queue: Queue;
  deadLetters: DeadLetterStore;
  book: StatusBook;
  watermarks?: WatermarkStore;
  intake?: Intake;
  downsamplingState?: WatermarkStore;
  lateLetters?: DeadLetterStore;
}

/** The client's own failure lines repeat what edr-sink says about each answer. */
function isClientEcho(message: string): boolean {
  return message.startsWith("[influxdb3-client]");
}

/** The sink's retry chatter goes to debug; what it gives up on, and halts, to warn. */
function sinkLogger(logger: ReplicatorLogger): SinkLogger {
  const forward = (write: ((message: string) => void) | undefined) => (message: string) => {
    if (!isClientEcho(message)) write?.(`edr-sink: ${message}`);
  };
  return {
    debug: forward(logger.debug?.bind(logger)),
    info: forward(logger.info.bind(logger)),
    warn: forward(logger.warn.bind(logger)),
    error: forward(logger.error.bind(logger)),
  };
}

class ConfiguredReplicator implements Replicator {
  readonly config: ScheduledConfig | WritesConfig;
  private readonly delivery: Delivery;
  private readonly pipeline: Pipeline;
  private readonly flusher: WriteFlusher | undefined;
  private reader: LocalReader | undefined;
  private closed: Promise<void> | undefined;
  /** Calls run one at a time, in the order they were made. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Calls running or waiting: the drain loop stands aside meanwhile (a call sends what it queued). */
  private callsInProgress = 0;
  private readonly background = new AbortController();
  /** Aborted when a call starts, so that a background pass waiting for a retry makes way at once. */
  private backgroundPass: AbortController | undefined;
  private wakeDrainLoop: (() => void) | undefined;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly parts: Parts,
    private readonly sink: Sink,
  ) {
    const { config, queue, deadLetters, book } = parts;
    this.config = config;
    const remote = config.remote;
    this.delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      // The sink's advice: about 2 x maxInFlight x batchLines lines unanswered keep every lane full.
      maxUnansweredLines: 2 * remote.maxInFlight * remote.batchLines,
      maxUnansweredBytes: 2 * remote.maxInFlight * remote.batchBytes,
      readEntries: Math.min(remote.batchLines, 10_000),
      now: parts.now,
    });
    // Downsampling is done per window or per bucket by the calls, so the transform filters, excludes, renames.
    const { downsampling: _byTheCalls, ...rules } = config.transform;
    this.pipeline = new Pipeline(createTransform(rules), queue, this.delivery, book);
    this.reader = parts.options.reader;
    if (config.mode === "writes") {
      this.flusher = new WriteFlusher({
        config,
        pipeline: this.pipeline,
        intake: parts.intake!,
        book,
        state: parts.downsamplingState,
        lateLetters: parts.lateLetters,
        now: parts.now,
      });
    }
  }

  get intake(): WriteIntake | undefined {
    return this.parts.intake;
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
        await this.acceptTableBatches(tableBatches);
        await this.flusher!.flush(call);
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
    await this.parts.intake!.accept(lines);
    return lines.length;
  }

  flush(): Promise<CallReport | undefined> {
    this.assertWritesMode("flush");
    return this.serial(() => this.flushNow());
  }

  /** One flush as a call of the seed's shape; nothing is logged when there was nothing to move. */
  private async flushNow(): Promise<CallReport | undefined> {
    if (!this.flusher!.hasWork()) return undefined;
    const call = this.startCall();
    call.log.info("Starting data replication process");
    try {
      await this.flusher!.flush(call);
    } catch (error) {
      call.fail(errorMessage(error));
    }
    call.log.info(
      `Queued ${call.report.queued} lines from ${[...call.queuedTables].join(",") || "no table"}`,
    );
    // The drain loop sends what was queued: a flush never waits for the remote.
    return this.finish(call, false);
  }

  start(options: { flushIntervalMs?: number } = {}): void {
    this.assertOpen();
    if (this.loops.length > 0) return;
    const signal = this.background.signal;
    this.loops.push(this.drainLoop(signal));
    if (this.flusher !== undefined) {
      const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
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
    return book.snapshot({
      queue,
      queueName: config.queue.name,
      queueDir: config.queue.dir,
      maxBytes: config.queue.maxBytes,
      delivery: this.delivery,
      intake:
        intake === undefined
          ? undefined
          : { queue: intake.queue, emittedUntilNs: this.flusher?.emittedUntilNs },
      refusal: intake?.refusal()?.reason,
      watermarks: watermarks?.entries(),
      now: this.parts.now(),
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.background.abort();
      this.backgroundPass?.abort();
      this.wakeDrainLoop?.();
      await Promise.allSettled(this.loops);
      await this.chain.catch(() => undefined);
      // What the intake holds goes to the queue now (open buckets stay for the next start).
      if (this.flusher !== undefined) await this.flushNow().catch(() => undefined);
      await this.delivery.idle();
      await this.sink.close();
      const { queue, deadLetters, watermarks, intake, downsamplingState, lateLetters } = this.parts;
      await Promise.allSettled(
        [queue, deadLetters, watermarks, intake, downsamplingState, lateLetters].flatMap((part) =>
          part === undefined ? [] : [part.close()],
        ),
      );
    })();
    return this.closed;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    this.callsInProgress++;
    this.backgroundPass?.abort();
    const run = this.chain.catch(() => undefined).then(work);
    this.chain = run.finally(() => {
      this.callsInProgress--;
      this.wakeDrainLoop?.();
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

  /** A flush every interval, as a call of its own; a slow flush delays the next one. */
  private async flushLoop(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(intervalMs, signal);
      if (signal.aborted) return;
      await this.serial(() => this.flushNow()).catch((error: unknown) => {
        this.parts.logger.error(`flush failed: ${errorMessage(error)}`);
      });
    }
  }

  /**
   * Sends what is queued whenever no call runs: each pass waits out the remote's `Retry-After` itself; a pass
   * that fails, or stops on a halt, is followed by a pause that doubles up to 30 s while the remote stays down.
   */
  private async drainLoop(signal: AbortSignal): Promise<void> {
    let backoffMs = 1000;
    while (!signal.aborted) {
      if (this.callsInProgress > 0 || this.parts.queue.stats().entries === 0) {
        await this.waitForWork(signal);
        continue;
      }
      const pass = new AbortController();
      this.backgroundPass = pass;
      const abort = () => pass.abort();
      signal.addEventListener("abort", abort, { once: true });
      try {
        const before = this.delivery.counters.delivered;
        const report = await this.delivery.pass({ maxRetryWaitMs: Infinity, signal: pass.signal });
        const delivered = this.delivery.counters.delivered - before;
        if (delivered > 0) this.parts.logger.info(`Replicated ${delivered} lines to remote instance`);
        if (report.stalled === undefined || pass.signal.aborted) {
          backoffMs = 1000;
          continue;
        }
        this.parts.logger.warn(`delivery paused ${Math.round(backoffMs / 1000)} s: ${report.stalled}`);
      } catch (error) {
        this.parts.logger.error(
          `delivery failed, trying again in ${Math.round(backoffMs / 1000)} s: ${errorMessage(error)}`,
        );
      } finally {
        signal.removeEventListener("abort", abort);
        this.backgroundPass = undefined;
      }
      await sleep(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, MAX_DRAIN_BACKOFF_MS);
    }
  }

  /** Until a call ends, an append may have happened, or a second passed. */
  private waitForWork(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeDrainLoop = undefined;
        resolve();
      };
      const timer = setTimeout(done, DRAIN_IDLE_MS);
      this.wakeDrainLoop = done;
      if (signal.aborted) done();
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
