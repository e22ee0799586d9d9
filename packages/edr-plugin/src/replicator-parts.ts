import type { ScheduledConfig, WritesConfig } from "edr-args";
import { createQueue, inspectQueue, type Queue } from "edr-queue";
import { createSink, type Sink, type SinkLogger } from "edr-sink";
import { createDeadLetterStore, type DeadLetterStore } from "./dead-letters.js";
import { consoleLogger, type ReplicatorLogger } from "./logger.js";
import { intakeName, openIntake, type Intake } from "./on-write/intake.js";
import { openReceivedLog, receivedLogName, type OpenedReceivedLog } from "./on-write/received-log.js";
import type { ReplicatorOptions } from "./replicator-types.js";
import { fullRefusal } from "./queue-full.js";
import { createStatusBook, type StatusBook } from "./status.js";
import { createWatermarkStore, type WatermarkStore } from "./watermarks.js";

/** Everything a replicator owns, opened by {@link openParts}. */
export interface Parts {
  config: ScheduledConfig | WritesConfig;
  options: ReplicatorOptions;
  logger: ReplicatorLogger;
  now: () => number;
  queue: Queue;
  deadLetters: DeadLetterStore;
  book: StatusBook;
  sink: Sink;
  /** Scheduled mode. */
  watermarks?: WatermarkStore;
  /** On-write mode with downsampling: where written lines wait for their bucket. */
  intake?: Intake;
  /** On-write mode without downsampling: an intake left by an earlier run with downsampling, to move on once. */
  leftoverIntake?: Queue | undefined;
  /** On-write mode without downsampling: the writes as received, before the transform and the queue. */
  received?: OpenedReceivedLog;
  /** On-write mode with downsampling: a received log left by an earlier run without, to move on once. */
  leftoverReceived?: Queue | undefined;
  /** On-write mode with downsampling. */
  downsamplingState?: WatermarkStore;
  lateLetters?: DeadLetterStore;
}

/**
 * Opens what a replicator of one config owns: its queue (taking the queue's lock), dead-letter file and sink;
 * in scheduled mode the watermarks; in on-write mode with downsampling the intake, the late-letter file and the
 * state of the buckets emitted. What was opened is closed again when a later part fails.
 */
export async function openParts(
  config: ScheduledConfig | WritesConfig,
  options: ReplicatorOptions,
): Promise<Parts> {
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
    const sink = createSink({
      ...config.remote,
      logger: sinkLogger(logger),
      onAnswer: (answer) => book.answer(answer),
    });
    opened.push(sink);
    const parts: Parts = { config, options, logger, now, queue, deadLetters, book, sink };
    if (config.mode === "scheduled") {
      parts.watermarks = await createWatermarkStore({ dir, name, onWarning });
      opened.push(parts.watermarks);
      return parts;
    }
    // The intake holds written lines until their bucket is emitted: only downsampling needs it.
    if (config.transform.downsampling !== undefined) {
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
      parts.downsamplingState = await createWatermarkStore({ dir, name: `${name}_downsampling`, onWarning });
      opened.push(parts.downsamplingState);
      parts.lateLetters = await createDeadLetterStore({ dir, queueName: `${name}_late`, onWarning });
      opened.push(parts.lateLetters);
      parts.leftoverReceived = await openLeftover(dir, receivedLogName(name), maxBytes, onWarning);
      if (parts.leftoverReceived !== undefined) opened.push(parts.leftoverReceived);
    } else {
      parts.received = await openReceivedLog({ dir, name, maxBytes, fsync, onWarning });
      opened.push(parts.received.queue);
      parts.leftoverIntake = await openLeftover(dir, intakeName(name), maxBytes, onWarning);
      if (parts.leftoverIntake !== undefined) opened.push(parts.leftoverIntake);
    }
    return parts;
  } catch (error) {
    await Promise.allSettled(opened.map((part) => part.close()));
    throw error;
  }
}

/** Closes the files a replicator owns (the sink is closed before, once nothing is sent any more). */
export async function closeFiles(parts: Parts): Promise<void> {
  const { queue, deadLetters, watermarks, intake, leftoverIntake, downsamplingState, lateLetters } = parts;
  const { received, leftoverReceived } = parts;
  await Promise.allSettled(
    [
      queue,
      deadLetters,
      watermarks,
      intake,
      leftoverIntake,
      received?.queue,
      leftoverReceived,
      downsamplingState,
      lateLetters,
    ].flatMap((part) => (part === undefined ? [] : [part.close()])),
  );
}

/**
 * The queue `name` of an earlier run in the other on-write mode (the intake of a run with downsampling, the
 * received log of one without), when it still holds something; else undefined.
 */
async function openLeftover(
  dir: string,
  name: string,
  maxBytes: number,
  onWarning: (message: string) => void,
): Promise<Queue | undefined> {
  const found = await inspectQueue({ dir, name });
  if (!found.exists || found.entries === 0) return undefined;
  return createQueue({ dir, name, maxBytes, onWarning });
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
