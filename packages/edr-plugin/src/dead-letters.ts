import { rename, type FileHandle } from "node:fs/promises";

import { PluginError } from "./errors.js";

/** Most bytes of the dead-letter file before it is rotated: 64 MiB. */
export const DEFAULT_DEAD_LETTER_MAX_BYTES = 64 * 1024 * 1024;

import {
  countLines,
  cutTornTail,
  deadLetterPaths,
  inspectRotated,
  ioError,
  isLetter,
  mkdirPrivate,
  openForAppend,
  readLetters,
  restrictExisting,
  rewriteFile,
  serializeLetter,
  syncDirectory,
  type DeadLetter,
  type DeadLetterRewriter,
} from "./dead-letter-file.js";

export { deadLetterPaths, parseLetter, syncDirectory } from "./dead-letter-file.js";
export type { DeadLetter, DeadLetterRewriter } from "./dead-letter-file.js";

/** Options of {@link createDeadLetterStore}. */
export interface DeadLetterStoreOptions {
  /** Directory of the file (the queue's directory); created when missing. */
  dir: string;
  /** The queue's name: the file is `edr_dead_letter_<queueName>.jsonl`. */
  queueName: string;
  /** Bytes of the current file before it is rotated. @default DEFAULT_DEAD_LETTER_MAX_BYTES (64 MiB) */
  maxBytes?: number | undefined;
  /** Told about a torn tail cut off and about letters discarded by rotation. @default no-op */
  onWarning?: ((message: string) => void) | undefined;
}

/** Counters of a {@link DeadLetterStore}. */
export interface DeadLetterStats {
  /** Letters on disk, both files. */
  letters: number;
  /** Bytes on disk, both files. */
  bytes: number;
  /** Letters written by `append` since the store opened. */
  written: number;
  /** Letters `append` skipped because their ordinal was already on disk. */
  skipped: number;
  /** Letters lost because a rotation replaced the older rotated file. */
  discarded: number;
  /** Rotations since the store opened. */
  rotations: number;
}

/** The dead-letter file of one queue. */
export interface DeadLetterStore {
  /** `join(dir, "edr_dead_letter_<queueName>.jsonl")`. */
  readonly path: string;
  /** The rotated file, `edr_dead_letter_<queueName>.1.jsonl`. */
  readonly rotatedPath: string;
  /**
   * Appends the letters whose ordinal is above the highest already on disk, fsynced before it resolves;
   * returns how many were written. Rejects with a `PluginError`, nothing of this call kept: `IO` when the
   * disk refuses, `INVALID_ARGUMENT` for a letter `list` could not read back, `CLOSED` after `close()`.
   */
  append(letters: readonly DeadLetter[]): Promise<number>;
  /** Forgets the ordinal high-water mark (the queue was recreated, its ordinals start again). */
  resetOrdinals(): void;
  /** The highest ordinal on disk (or appended since the last `resetOrdinals`). */
  highestOrdinal(): number | undefined;
  stats(): DeadLetterStats;
  /**
   * Every letter, oldest first (the rotated file first), streamed. Rejects with a `PluginError` (`IO`) on a
   * line that is not a letter, naming the file and line.
   */
  list(): AsyncIterable<DeadLetter>;
  /**
   * Streams every letter through `rewriter` in batches of `batchLetters` (oldest first) and replaces each
   * file atomically (temp file, fsync, rename, directory fsync) with what it kept. Appends wait meanwhile.
   * A file whose letters all came back unchanged is left as it is. `batchLetters` @default 1000
   */
  rewrite(rewriter: DeadLetterRewriter, batchLetters?: number): Promise<void>;
  /** Closes the file; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens (or creates, mode 0600) the dead-letter file of a queue: JSON lines of
 * `{"line","table","status","reason","time","ordinal"}`.
 *
 * Opening reads only the tail of the file to learn the highest ordinal; a torn last line (a crash mid-append:
 * no trailing newline, or not JSON) is cut off with a warning, since it was never acknowledged and will be
 * written again. The letter count comes from a scan for newlines (no parsing).
 *
 * Size policy: when an append would take the file past `maxBytes`, the file is renamed to
 * `edr_dead_letter_<queueName>.1.jsonl`, replacing the previous rotated file, whose letters are counted in
 * `discarded` and reported through `onWarning`. So at most about 2 x `maxBytes` is kept (one append larger
 * than `maxBytes` is written whole).
 */
export async function createDeadLetterStore(options: DeadLetterStoreOptions): Promise<DeadLetterStore> {
  const { path, rotatedPath } = deadLetterPaths(options.dir, options.queueName);
  const warn = options.onWarning ?? (() => {});
  let file: FileHandle | undefined;
  try {
    await mkdirPrivate(options.dir);
    file = await openForAppend(path);
    await restrictExisting(rotatedPath);
    const current = await cutTornTail(file, path, warn);
    const rotated = await inspectRotated(rotatedPath);
    const state: StoreState = {
      file,
      bytes: current.bytes,
      letters: await countLines(path, current.bytes),
      rotatedBytes: rotated.bytes,
      rotatedLetters: rotated.letters,
      highest: current.last?.ordinal ?? rotated.last?.ordinal,
    };
    return new FileDeadLetterStore(
      path,
      rotatedPath,
      options.maxBytes ?? DEFAULT_DEAD_LETTER_MAX_BYTES,
      warn,
      state,
    );
  } catch (error) {
    await file?.close().catch(() => {});
    throw ioError(`cannot open the dead-letter file ${path}`, error);
  }
}

interface StoreState {
  file: FileHandle;
  bytes: number;
  letters: number;
  rotatedBytes: number;
  rotatedLetters: number;
  highest: number | undefined;
}

class FileDeadLetterStore implements DeadLetterStore {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly counters = { written: 0, skipped: 0, discarded: 0, rotations: 0 };

  constructor(
    readonly path: string,
    readonly rotatedPath: string,
    private readonly maxBytes: number,
    private readonly warn: (message: string) => void,
    private readonly state: StoreState,
  ) {}

  append(letters: readonly DeadLetter[]): Promise<number> {
    return this.serialize(() => this.appendNow(letters));
  }

  resetOrdinals(): void {
    this.state.highest = undefined;
  }

  highestOrdinal(): number | undefined {
    return this.state.highest;
  }

  stats(): DeadLetterStats {
    const { letters, rotatedLetters, bytes, rotatedBytes } = this.state;
    return { letters: letters + rotatedLetters, bytes: bytes + rotatedBytes, ...this.counters };
  }

  async *list(): AsyncIterable<DeadLetter> {
    // Snapshot the sizes: an append landing meanwhile is not read half-written.
    const { rotatedBytes, bytes } = this.state;
    yield* readLetters(this.rotatedPath, rotatedBytes);
    yield* readLetters(this.path, bytes);
  }

  rewrite(rewriter: DeadLetterRewriter, batchLetters = 1000): Promise<void> {
    return this.serialize(async () => {
      const rotated = await rewriteFile(this.rotatedPath, this.state.rotatedBytes, rewriter, batchLetters);
      if (rotated)
        Object.assign(this.state, { rotatedBytes: rotated.bytes, rotatedLetters: rotated.letters });
      const current = await rewriteFile(this.path, this.state.bytes, rewriter, batchLetters);
      if (current) {
        // The old handle points at the replaced file: appends must go to the new one.
        await this.state.file.close();
        this.state.file = await openForAppend(this.path);
        Object.assign(this.state, { bytes: current.bytes, letters: current.letters });
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    await this.state.file.close();
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new PluginError("CLOSED", `the dead-letter store ${this.path} is closed`));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  private async appendNow(letters: readonly DeadLetter[]): Promise<number> {
    // A letter that `list` could not read back would block every later replay: refuse it here.
    const bad = letters.findIndex((letter) => !isLetter(letter));
    if (bad >= 0)
      throw new PluginError(
        "INVALID_ARGUMENT",
        `dead letter ${bad} for ${this.path} is not a letter (strings line, table, reason, time; ` +
          `a finite status; an ordinal that is a non-negative integer)`,
      );
    const fresh = letters.filter(
      (letter) => this.state.highest === undefined || letter.ordinal > this.state.highest,
    );
    this.counters.skipped += letters.length - fresh.length;
    if (fresh.length === 0) return 0;
    const data = Buffer.from(fresh.map((letter) => serializeLetter(letter)).join(""), "utf8");
    if (this.state.bytes > 0 && this.state.bytes + data.length > this.maxBytes) await this.rotate();
    const { file, bytes } = this.state;
    try {
      await file.write(data, 0, data.length, null);
      await file.datasync();
    } catch (error) {
      // Nothing of a failed append stays: a half-written letter would look torn at the next open.
      await file.truncate(bytes).catch(() => {});
      throw ioError(`cannot append ${fresh.length} dead letters to ${this.path}`, error);
    }
    this.state.bytes += data.length;
    this.state.letters += fresh.length;
    for (const letter of fresh) this.state.highest = Math.max(this.state.highest ?? -1, letter.ordinal);
    this.counters.written += fresh.length;
    return fresh.length;
  }

  private async rotate(): Promise<void> {
    try {
      await this.state.file.close();
      await rename(this.path, this.rotatedPath);
      this.state.file = await openForAppend(this.path);
      await syncDirectory(this.path);
    } catch (error) {
      throw ioError(`cannot rotate the dead-letter file ${this.path} to ${this.rotatedPath}`, error);
    }
    if (this.state.rotatedLetters > 0) {
      this.counters.discarded += this.state.rotatedLetters;
      this.warn(
        `[edr-plugin] discarded ${this.state.rotatedLetters} dead letters of ${this.rotatedPath}: ` +
          `the dead-letter file reached ${this.maxBytes} bytes and was rotated over it`,
      );
    }
    Object.assign(this.state, { rotatedBytes: this.state.bytes, rotatedLetters: this.state.letters });
    Object.assign(this.state, { bytes: 0, letters: 0 });
    this.counters.rotations++;
  }
}
