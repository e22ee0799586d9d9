import type { ScheduledConfig, WritesConfig } from "edr-args";
import { createQueue, inspectQueue, type Queue } from "edr-queue";
import { createSink, type Sink, type SinkLogger } from "edr-sink";
import { createDeadLetterStore, type DeadLetterStore } from "./dead-letters.js";
import { consoleLogger, type ReplicatorLogger } from "./logger.js";
import { intakeName, openIntake, type Intake } from "./on-write/intake.js";
import type { ReplicatorOptions } from "./replicator-types.js";
import { createStatusBook, type StatusBook } from "./status.js";
import { createWatermarkStore, type WatermarkStore } from "./watermarks.js";

/** What a writer is told to wait when the queue is full. */
const FULL_RETRY_AFTER_SECONDS = 5;
/** The queue counts as full this close to `max_size`, so one more request still fits. */
const FULL_MARGIN_BYTES = 10 * 1024 * 1024;

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
    } else {
      parts.leftoverIntake = await openLeftoverIntake(dir, name, maxBytes, onWarning);
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
  await Promise.allSettled(
    [queue, deadLetters, watermarks, intake, leftoverIntake, downsamplingState, lateLetters].flatMap(
      (part) => (part === undefined ? [] : [part.close()]),
    ),
  );
}

/** The intake queue of an earlier run with downsampling, when it still holds lines; else undefined. */
async function openLeftoverIntake(
  dir: string,
  name: string,
  maxBytes: number,
  onWarning: (message: string) => void,
): Promise<Queue | undefined> {
  const found = await inspectQueue({ dir, name: intakeName(name) });
  if (!found.exists || found.entries === 0) return undefined;
  return createQueue({ dir, name: intakeName(name), maxBytes, onWarning });
}

/** Why writes must wait: the queue holds nearly `max_size` (a remote down for long, or halted). */
export function fullRefusal(
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
