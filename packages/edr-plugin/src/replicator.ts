import { randomUUID } from "node:crypto";
import type { ScheduledConfig, WritesConfig } from "edr-args";
import { createQueue, QueueError, type Queue, type QueueEntry } from "edr-queue";
import { createSink, type Sink, type SinkLogger } from "edr-sink";
import {
  createDownsampler,
  createRowConverter,
  createTransform,
  formatPoint,
  type ColumnInfo,
  type Point,
  type Row,
  type RowConverter,
  type Transform,
} from "edr-transform";
import { createDeadLetterStore, type DeadLetterStore } from "./dead-letters.js";
import { replayDeadLetters, type ReplayOptions, type ReplayResult } from "./dead-letter-replay.js";
import { createDelivery, type Delivery } from "./delivery.js";
import { PluginError } from "./errors.js";
import { consoleLogger, formatElapsed, taskLogger, type ReplicatorLogger } from "./logger.js";
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
import { createStatusBook, type StatusBook } from "./status.js";
import { createWatermarkStore, type WatermarkStore } from "./watermarks.js";
import { chunkSpanNs, formatCallTime, formatNs, planRanges, type TimeRange } from "./windows.js";

const MS = 1_000_000n;
/** Rows per chunk read from the local instance, and so per queue append. */
const CHUNK_ROWS = 10_000;

/**
 * Opens the replicator of one config: its queue (taking the queue's lock), sink, transform, local reader,
 * dead-letter file and, in scheduled mode, the watermarks. Close it with `close()`.
 */
export async function createReplicator(
  config: ScheduledConfig | WritesConfig,
  options: ReplicatorOptions = {},
): Promise<Replicator> {
  const logger = options.logger ?? consoleLogger;
  const name = config.queue.name;
  const queue = await createQueue({
    dir: config.queue.dir,
    name,
    maxBytes: config.queue.maxBytes,
    fsync: options.fsync ?? "always",
    onWarning: (message) => logger.warn(message),
  });
  const opened: { close(): Promise<void> }[] = [queue];
  try {
    const deadLetters = await createDeadLetterStore({
      dir: config.queue.dir,
      queueName: name,
      onWarning: (message) => logger.warn(message),
    });
    opened.push(deadLetters);
    // A queue recreated from nothing counts its ordinals from 0 again: the old high-water mark would
    // swallow its first dead letters.
    const high = deadLetters.highestOrdinal();
    if (high !== undefined && high >= queue.stats().appended) deadLetters.resetOrdinals();
    const watermarks =
      config.mode === "scheduled"
        ? await createWatermarkStore({
            dir: config.queue.dir,
            name,
            onWarning: (message) => logger.warn(message),
          })
        : undefined;
    if (watermarks) opened.push(watermarks);
    const sink = createSink({ ...config.remote, logger: sinkLogger(logger) });
    return new ConfiguredReplicator(config, options, logger, queue, sink, deadLetters, watermarks);
  } catch (error) {
    await Promise.allSettled(opened.map((part) => part.close()));
    throw error;
  }
}

/** The sink's retry chatter goes to debug; what it gives up on, and halts, to warn. */
function sinkLogger(logger: ReplicatorLogger): SinkLogger {
  return {
    debug: (message) => {
      if (!isClientEcho(message)) logger.debug?.(`edr-sink: ${message}`);
    },
    info: (message) => {
      if (!isClientEcho(message)) logger.info(`edr-sink: ${message}`);
    },
    warn: (message) => {
      if (!isClientEcho(message)) logger.warn(`edr-sink: ${message}`);
    },
    error: (message) => {
      if (!isClientEcho(message)) logger.error(`edr-sink: ${message}`);
    },
  };
}

/** The client's own failure lines repeat what edr-sink says about each answer. */
function isClientEcho(message: string): boolean {
  return message.startsWith("[influxdb3-client]");
}

class ConfiguredReplicator implements Replicator {
  private readonly transform: Transform;
  private readonly delivery: Delivery;
  private readonly book: StatusBook;
  private readonly converters = new Map<string, { signature: string; converter: RowConverter }>();
  private reader: LocalReader | undefined;
  private closed: Promise<void> | undefined;
  /** Calls run one at a time, in the order they were made. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(
    readonly config: ScheduledConfig | WritesConfig,
    private readonly options: ReplicatorOptions,
    private readonly logger: ReplicatorLogger,
    private readonly queue: Queue,
    private readonly sink: Sink,
    private readonly deadLetters: DeadLetterStore,
    private readonly watermarks: WatermarkStore | undefined,
  ) {
    this.now = options.now ?? Date.now;
    // Downsampling is done here, per window or per call, so the transform only filters, excludes and renames.
    const { downsampling: _perWindow, ...rules } = config.transform;
    this.transform = createTransform(rules);
    const remote = config.remote;
    this.delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      // The sink's advice: about 2 x maxInFlight x batchLines lines unanswered keep every lane full.
      maxUnansweredLines: 2 * remote.maxInFlight * remote.batchLines,
      maxUnansweredBytes: 2 * remote.maxInFlight * remote.batchBytes,
      readEntries: Math.min(remote.batchLines, 10_000),
      now: this.now,
    });
    this.book = createStatusBook(config.mode, queue.stats().entries);
    this.reader = options.reader;
  }

  processScheduledCall(callTime: Date): Promise<CallReport> {
    return this.serial(() => this.scheduledCall(callTime));
  }

  processWrites(tableBatches: readonly TableBatch[]): Promise<CallReport> {
    return this.serial(() => this.writesCall(tableBatches));
  }

  async drain(options: { signal?: AbortSignal } = {}): Promise<DrainReport> {
    this.assertOpen();
    const signal = options.signal;
    const pass = await this.delivery.pass(signal === undefined ? {} : { signal });
    return {
      delivered: pass.delivered,
      deadLettered: pass.deadLettered,
      requests: pass.requests,
      remaining: this.queue.stats().entries,
      stalled: pass.stalled,
    };
  }

  replayDeadLetters(options: ReplayOptions = {}): Promise<ReplayResult> {
    return this.serial(async () => {
      await this.delivery.idle();
      return replayDeadLetters(this.deadLetters, this.sink, options);
    });
  }

  status(): ReplicatorStatus {
    return this.book.snapshot({
      queue: this.queue,
      queueName: this.config.queue.name,
      queueDir: this.config.queue.dir,
      maxBytes: this.config.queue.maxBytes,
      delivery: this.delivery,
      deadLetters: this.deadLetters,
      watermarks: this.watermarks?.entries(),
      now: this.now(),
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.chain.catch(() => undefined);
      await this.delivery.idle();
      await this.sink.close();
      await Promise.allSettled([this.queue.close(), this.deadLetters.close(), this.watermarks?.close()]);
    })();
    return this.closed;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const run = this.chain.catch(() => undefined).then(work);
    this.chain = run;
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new PluginError("CLOSED", "the replicator is closed");
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
      this.options.localApi === "influxql" ? createInfluxQLReader(source) : createSqlReader(source);
    return this.reader;
  }

  private async scheduledCall(callTime: Date): Promise<CallReport> {
    if (this.config.mode !== "scheduled") {
      throw new PluginError(
        "INVALID_ARGUMENT",
        "processScheduledCall needs a scheduled-mode config (window=…)",
      );
    }
    const config = this.config;
    const call = this.startCall();
    call.log.info(`Starting execution with scheduled time ${formatCallTime(callTime)}`);
    call.log.info("Starting data replication process");
    const reader = this.localReader();
    const tables = config.transform.tables ? [...config.transform.tables] : await reader.listTables();
    const endNs = BigInt(callTime.getTime() - config.offsetMs) * MS;
    const intervalMs = config.transform.downsampling?.intervalMs;
    const chunkNs = chunkSpanNs(intervalMs === undefined ? undefined : BigInt(intervalMs) * MS);
    const queuedTables: string[] = [];
    const windowNs = BigInt(config.windowMs) * MS;
    for (const table of tables) {
      try {
        const watermarkNs = this.watermarks?.get(table);
        const ranges = planRanges({
          endNs,
          windowNs,
          watermarkNs,
          catchUp: config.catchUp,
          chunkNs,
          bucketNs: intervalMs === undefined ? undefined : BigInt(intervalMs) * MS,
        });
        // Catching up: the copy starts before this call's window, where the last copy of this table ended.
        const catchingUp = ranges.length > 0 && ranges[0]!.startNs < endNs - windowNs;
        const queued = await this.copyTable(call, reader, table, ranges, catchingUp);
        if (queued > 0) queuedTables.push(table);
      } catch (error) {
        call.fail(`table ${table}: ${message(error)}`);
      }
    }
    call.log.info(`Queued ${call.report.queued} lines from ${queuedTables.join(",") || "no table"}`);
    return this.finishCall(call);
  }

  /** Copies the ranges of one table, oldest first; each range's end becomes the watermark once queued. */
  private async copyTable(
    call: Call,
    reader: LocalReader,
    table: string,
    ranges: TimeRange[],
    catchingUp: boolean,
  ): Promise<number> {
    if (ranges.length === 0) return 0;
    const columns = await reader.readColumns(table);
    if (columns.length === 0) {
      call.log.warn(`table ${table}: not found in the local database; nothing to copy`);
    }
    const converter = columns.length === 0 ? undefined : this.converter(table, columns);
    if (catchingUp) {
      call.log.info(
        `Catching up ${table}: ${ranges.length} chunks from ${formatNs(ranges[0]!.startNs)} to ${formatNs(ranges.at(-1)!.endNs)}`,
      );
    }
    let queued = 0;
    for (const [i, range] of ranges.entries()) {
      if (converter) queued += await this.copyRange(call, reader, converter, table, range);
      // Only forward: a call for an earlier time (a clock set back, --call-time) must not undo progress.
      const watermark = this.watermarks?.get(table);
      if (watermark === undefined || range.endNs > watermark) await this.watermarks?.set(table, range.endNs);
      if (catchingUp && (i + 1 === ranges.length || (i + 1) % 10 === 0)) {
        call.log.info(
          `Catching up ${table}: ${i + 1}/${ranges.length} chunks, up to ${formatNs(range.endNs)}, ${queued} lines queued`,
        );
      }
    }
    return queued;
  }

  private async copyRange(
    call: Call,
    reader: LocalReader,
    converter: RowConverter,
    table: string,
    range: TimeRange,
  ): Promise<number> {
    const downsampling = this.config.transform.downsampling;
    const downsampler = downsampling && createDownsampler(downsampling);
    let queued = 0;
    for await (const rows of reader.readRows(table, range.startNs, range.endNs, { chunkRows: CHUNK_ROWS })) {
      if (downsampler) {
        const points = converter.toPoints(rows);
        this.refuseRows(call, table, rows, points.rejected);
        const added = downsampler.add(points.items);
        for (const problem of added.problems) this.refuse(call, table, "downsampling", problem);
      } else {
        const lines = converter.toLines(rows);
        this.refuseRows(call, table, rows, lines.rejected);
        queued += await this.queueLines(call, table, lines.items);
      }
    }
    if (downsampler) {
      const out = downsampler.flushAll();
      for (const problem of out.problems) this.refuse(call, table, "downsampling", problem);
      queued += await this.queuePoints(call, table, out.points);
    }
    return queued;
  }

  private async writesCall(tableBatches: readonly TableBatch[]): Promise<CallReport> {
    const call = this.startCall();
    call.log.info("Starting data replication process");
    const reader = this.localReader();
    const downsampling = this.config.transform.downsampling;
    const queuedTables: string[] = [];
    for (const { table_name: table, rows } of tableBatches) {
      try {
        if (this.config.transform.tables && !this.config.transform.tables.has(table)) continue;
        const columns = await reader.readColumns(table);
        const converter = this.converter(table, columns);
        let queued: number;
        if (downsampling) {
          // One flush's points, one point per bucket (the seed's behaviour on write).
          const points = converter.toPoints(rows);
          this.refuseRows(call, table, rows, points.rejected);
          const downsampler = createDownsampler(downsampling);
          const added = downsampler.add(points.items);
          const out = downsampler.flushAll();
          for (const problem of [...added.problems, ...out.problems])
            this.refuse(call, table, "downsampling", problem);
          queued = await this.queuePoints(call, table, out.points);
        } else {
          const lines = converter.toLines(rows);
          this.refuseRows(call, table, rows, lines.rejected);
          queued = await this.queueLines(call, table, lines.items);
        }
        if (queued > 0) queuedTables.push(table);
      } catch (error) {
        call.fail(`table ${table}: ${message(error)}`);
      }
    }
    call.log.info(`Queued ${call.report.queued} lines from ${queuedTables.join(",") || "no table"}`);
    return this.finishCall(call);
  }

  /** A converter per table, rebuilt when the schema changed. */
  private converter(table: string, columns: readonly ColumnInfo[]): RowConverter {
    const signature = columns.map((c) => `${c.column_name}\u0000${c.data_type}`).join("\u0001");
    const cached = this.converters.get(table);
    if (cached?.signature === signature) return cached.converter;
    this.transform.checkColumns(
      table,
      columns.map((c) => c.column_name),
    );
    const converter = createRowConverter(table, columns);
    this.converters.set(table, { signature, converter });
    return converter;
  }

  private async queuePoints(call: Call, table: string, points: readonly Point[]): Promise<number> {
    const out = this.transform.points(points);
    for (const rejection of out.rejected) this.refuse(call, table, "transform", rejection.reason);
    const lines: string[] = [];
    for (const point of out.items) {
      try {
        lines.push(formatPoint(point));
      } catch (error) {
        this.refuse(call, table, "format", message(error));
      }
    }
    return this.appendEntries(call, table, lines);
  }

  private async queueLines(call: Call, table: string, lines: readonly string[]): Promise<number> {
    const out = this.transform.lines(lines);
    for (const rejection of out.rejected) this.refuse(call, table, "transform", rejection.reason);
    return this.appendEntries(call, table, out.items);
  }

  /** Appends durably; when the queue is full, drains once to make room and tries again. */
  private async appendEntries(call: Call, table: string, lines: readonly string[]): Promise<number> {
    if (lines.length === 0) return 0;
    const entries: QueueEntry[] = lines.map((line) => ({ table, line }));
    try {
      await this.queue.append(entries);
    } catch (error) {
      if (!(error instanceof QueueError && error.code === "FULL")) throw error;
      await this.delivery.pass();
      await this.queue.append(entries);
    }
    this.book.accepted(table, entries.length);
    call.report.queued += entries.length;
    this.delivery.kick();
    return entries.length;
  }

  private refuseRows(
    call: Call,
    table: string,
    rows: readonly Row[],
    rejected: readonly { index: number; reason: string }[],
  ): void {
    for (const rejection of rejected) {
      this.refuse(
        call,
        table,
        "row conversion",
        `${rejection.reason} (row ${JSON.stringify(rows[rejection.index])?.slice(0, 200)})`,
      );
    }
  }

  /** Counts and logs a line that will not be replicated: never dropped silently. */
  private refuse(call: Call, table: string, stage: string, reason: string): void {
    call.report.refused++;
    this.book.refused(table, stage);
    // One line per refusal up to a bound per call, then a count, so a flood of bad rows cannot flood the log.
    if (call.report.refused <= 20) call.log.warn(`refused a line of ${table} (${stage}): ${reason}`);
    else if (call.report.refused === 21) call.log.warn("more lines refused in this call; counted in status");
  }

  private startCall(): Call {
    const taskId = randomUUID();
    const log = taskLogger(this.logger, taskId);
    const report: CallReport = {
      taskId,
      queued: 0,
      refused: 0,
      replicated: 0,
      deadLettered: 0,
      queuedAfter: 0,
      halted: undefined,
      watermarks: {},
      errors: [],
      elapsedNs: 0n,
    };
    const started = process.hrtime.bigint();
    const { delivered, deadLettered } = this.delivery.counters;
    return {
      log,
      report,
      started,
      countersAtStart: { delivered, deadLettered },
      fail: (text: string) => {
        report.errors.push(text);
        this.book.error(text);
        log.error(`Error during replication: ${text}`);
      },
    };
  }

  private async finishCall(call: Call): Promise<CallReport> {
    try {
      // Appends already started passes in the background; this one waits for them and sends what is left.
      const pass = await this.delivery.pass();
      if (pass.stalled !== undefined) call.fail(`not delivered yet: ${pass.stalled}`);
    } catch (error) {
      call.fail(message(error));
    }
    const counters = this.delivery.counters;
    call.report.replicated = counters.delivered - call.countersAtStart.delivered;
    call.report.deadLettered = counters.deadLettered - call.countersAtStart.deadLettered;
    call.report.halted = this.delivery.halted;
    call.log.info(`Replicated ${call.report.replicated} lines to remote instance`);
    if (call.report.deadLettered > 0) {
      call.log.warn(
        `${call.report.deadLettered} lines refused by the remote, kept in ${this.deadLetters.path}`,
      );
    }
    call.report.queuedAfter = this.queue.stats().entries;
    if (this.watermarks) {
      for (const [table, ns] of this.watermarks.entries()) call.report.watermarks[table] = ns.toString();
    }
    call.report.elapsedNs = process.hrtime.bigint() - call.started;
    call.log.info(`Finished execution in ${formatElapsed(call.report.elapsedNs)}`);
    return call.report;
  }
}

interface Call {
  log: ReplicatorLogger;
  report: CallReport;
  started: bigint;
  /** The delivery's counters when the call started: what the call sent is the difference at its end. */
  countersAtStart: { delivered: number; deadLettered: number };
  fail(text: string): void;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
