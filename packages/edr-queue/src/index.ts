export { createQueue } from "./open-queue.js";
export type { Queue, QueueBatch, QueueBatchSpan, QueueStats } from "./types.js";
export type { QueueOptions } from "./options.js";
export {
  DEFAULT_MAX_BYTES,
  DEFAULT_NAME,
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_RECLAIM_BYTES,
  DEFAULT_FSYNC_INTERVAL_MS,
} from "./options.js";
export type { QueueEntry } from "./entries.js";
export type { Position } from "./cursor-file.js";
export { QueueError, type QueueErrorCode } from "./errors.js";
export {
  createZlibCodec,
  createFflateCodec,
  DEFAULT_GZIP_LEVEL,
  type Codec,
  type CodecOption,
} from "./codec.js";
export { inspectQueue, type InspectOptions, type QueueInspection, type LockOwner } from "./inspect.js";
