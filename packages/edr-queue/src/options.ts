import type { CodecOption } from "./codec.js";
import { QueueError } from "./errors.js";

/** Options of {@link createQueue}. */
export interface QueueOptions {
  /** Directory of the queue files (the seed's `PLUGIN_DIR`). Created, with its parents, if missing. */
  readonly dir: string;
  /**
   * Queue name: the files are `edr_queue_<name>.jsonl.gz` and side files with that prefix. The seed's two
   * queues are `writes` and `schedule`. Letters, digits, `_` and `-` only.
   * @default "writes"
   */
  readonly name?: string;
  /**
   * Upper bound on unacknowledged bytes on disk (compressed), the seed's `max_size` (in MB there).
   * @default 1073741824 (1024 MiB)
   */
  readonly maxBytes?: number;
  /**
   * When appended data reaches the disk:
   * - `'always'`: fsync before `append` (and `ack`) resolves; survives power loss. Concurrent appends share
   *   one fsync (group commit).
   * - `'batch'`: `append` resolves once written to the OS; an fsync runs every `fsyncIntervalMs`. Survives a
   *   process crash; a power loss may lose the last interval.
   * - `'never'`: no fsync; the OS writes back when it likes. Survives a process crash only.
   * @default "always"
   */
  readonly fsync?: "always" | "batch" | "never";
  /** Interval of the background fsync in `'batch'` mode. @default 1000 */
  readonly fsyncIntervalMs?: number;
  /**
   * What `append` does when the queue would exceed `maxBytes`: `'error'` rejects it (code `FULL`) and
   * keeps everything queued; `'drop-oldest'` drops the oldest members until it fits and counts the
   * dropped entries in `stats().dropped`.
   * @default "error"
   */
  readonly onFull?: "error" | "drop-oldest";
  /** `'zlib'` (node:zlib), `'fflate'` (pure JS) or your own codec. @default "zlib" */
  readonly codec?: CodecOption;
  /**
   * Size at which the head file is sealed (renamed to `edr_queue_<name>.NNNNNN.jsonl.gz`) and a new head
   * started. Sealed segments are deleted whole once acknowledged.
   * @default 16777216 (16 MiB)
   */
  readonly segmentBytes?: number;
  /**
   * A fully acknowledged head of at least this size is sealed and deleted, so a queue that keeps up does
   * not keep acknowledged bytes around.
   * @default 1048576 (1 MiB)
   */
  readonly reclaimBytes?: number;
  /** Called once per quarantine (unreadable bytes moved aside). @default process.emitWarning */
  readonly onWarning?: (message: string) => void;
}

/** Default queue name: the seed's on-write queue, `edr_queue_writes.jsonl.gz`. */
export const DEFAULT_NAME = "writes";
/** Default `maxBytes`: the seed's `max_size` default of 1024 MB. */
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
/** Default `segmentBytes`: 16 MiB. */
export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Default `reclaimBytes`: 1 MiB. */
export const DEFAULT_RECLAIM_BYTES = 1024 * 1024;
/** Default `fsyncIntervalMs` under `fsync: 'batch'`: 1 s. */
export const DEFAULT_FSYNC_INTERVAL_MS = 1000;

export type ResolvedOptions = Required<Omit<QueueOptions, "codec">> & {
  readonly codec: QueueOptions["codec"] | undefined;
};

/** Checks every option and throws one error listing every problem. */
export function resolveOptions(options: QueueOptions): ResolvedOptions {
  const problems: string[] = [];
  const o = (options ?? {}) as Partial<QueueOptions>;
  if (typeof o.dir !== "string" || o.dir === "")
    problems.push(`dir: expected a directory path, got ${show(o.dir)}`);
  const name = o.name ?? DEFAULT_NAME;
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]+$/.test(name)) {
    problems.push(`name: expected letters, digits, "_" or "-", got ${show(name)}`);
  }
  const positive = (key: keyof QueueOptions, value: unknown): void => {
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) > 0)) {
      problems.push(`${key}: expected a positive integer, got ${show(value)}`);
    }
  };
  positive("maxBytes", o.maxBytes);
  positive("segmentBytes", o.segmentBytes);
  positive("reclaimBytes", o.reclaimBytes);
  positive("fsyncIntervalMs", o.fsyncIntervalMs);
  if (o.fsync !== undefined && !["always", "batch", "never"].includes(o.fsync)) {
    problems.push(`fsync: expected "always", "batch" or "never", got ${show(o.fsync)}`);
  }
  if (o.onFull !== undefined && !["error", "drop-oldest"].includes(o.onFull)) {
    problems.push(`onFull: expected "error" or "drop-oldest", got ${show(o.onFull)}`);
  }
  if (o.codec !== undefined && o.codec !== "zlib" && o.codec !== "fflate" && typeof o.codec !== "object") {
    problems.push(`codec: expected "zlib", "fflate" or a codec object, got ${show(o.codec)}`);
  }
  if (problems.length > 0) {
    throw new QueueError("INVALID_ARGUMENT", `createQueue: invalid options:\n  ${problems.join("\n  ")}`);
  }
  return {
    dir: o.dir!,
    name,
    maxBytes: o.maxBytes ?? DEFAULT_MAX_BYTES,
    fsync: o.fsync ?? "always",
    fsyncIntervalMs: o.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS,
    onFull: o.onFull ?? "error",
    codec: o.codec,
    segmentBytes: o.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
    reclaimBytes: o.reclaimBytes ?? DEFAULT_RECLAIM_BYTES,
    onWarning: o.onWarning ?? ((message: string) => process.emitWarning(message, { code: "EDR_QUEUE" })),
  };
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
