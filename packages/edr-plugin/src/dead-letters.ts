import { createReadStream } from "node:fs";
import { mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

import { PluginError } from "./errors.js";

/** Most bytes of the dead-letter file before it is rotated: 64 MiB. */
export const DEFAULT_DEAD_LETTER_MAX_BYTES = 64 * 1024 * 1024;

/** Bytes read at a time when scanning the file backwards for its last line, or counting its lines. */
const CHUNK_BYTES = 64 * 1024;
const FILE_MODE = 0o600;

/** One line the remote refused for good, with its reason. */
export interface DeadLetter {
  /** The line-protocol line as it was sent. */
  line: string;
  table: string;
  /** The remote's HTTP status. */
  status: number;
  /** The remote's message. */
  reason: string;
  /** ISO 8601, when it was refused. */
  time: string;
  /** The queue entry's position in the queue's lifetime order: the key that makes `append` idempotent. */
  ordinal: number;
}

/** The dead-letter file of a queue and its rotated predecessor. */
export function deadLetterPaths(dir: string, queueName: string): { path: string; rotatedPath: string } {
  return {
    path: join(dir, `edr_dead_letter_${queueName}.jsonl`),
    rotatedPath: join(dir, `edr_dead_letter_${queueName}.1.jsonl`),
  };
}

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

/**
 * Rewrites one batch of letters during {@link DeadLetterStore.rewrite}: returns the letters to keep,
 * changed or not, in order.
 */
export type DeadLetterRewriter = (letters: readonly DeadLetter[]) => Promise<readonly DeadLetter[]>;

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
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    file = await openForAppend(path);
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

/** One letter as a JSON line; `JSON.stringify` escapes newlines and lone surrogates, so it stays one line. */
function serializeLetter(letter: DeadLetter): string {
  const { line, table, status, reason, time, ordinal } = letter;
  return JSON.stringify({ line, table, status, reason, time, ordinal }) + "\n";
}

/** Parses one JSON line into a letter, or undefined when it is not one. */
export function parseLetter(text: string): DeadLetter | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isLetter(value) ? value : undefined;
}

/** Whether a value has every field of a letter with its type (what `list` will accept back). */
function isLetter(value: unknown): value is DeadLetter {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const strings = ["line", "table", "reason", "time"].every((key) => typeof v[key] === "string");
  const ordinal = v["ordinal"];
  return strings && Number.isFinite(v["status"]) && Number.isSafeInteger(ordinal) && (ordinal as number) >= 0;
}

async function openForAppend(path: string): Promise<FileHandle> {
  const file = await open(path, "a+", FILE_MODE);
  // A file created by an older version (or by hand) may be world-readable: letters hold the data itself.
  await file.chmod(FILE_MODE);
  return file;
}

/**
 * Cuts every byte after the last valid letter's newline (a torn append, or a line that is not JSON) and
 * returns the remaining size and that last letter.
 */
async function cutTornTail(
  file: FileHandle,
  path: string,
  warn: (message: string) => void,
): Promise<{ bytes: number; last: DeadLetter | undefined }> {
  const size = (await file.stat()).size;
  let end = size;
  let last: DeadLetter | undefined;
  while (end > 0) {
    const start = await findLineStart(file, end);
    const line = await readRange(file, start, end);
    last = line.endsWith("\n") ? parseLetter(line.slice(0, -1)) : undefined;
    if (last) break;
    end = start;
  }
  if (end < size) {
    await file.truncate(end);
    await file.datasync();
    warn(
      `[edr-plugin] cut ${size - end} bytes of a torn last dead letter off ${path} (a crash mid-append); ` +
        `it was never acknowledged, so it will be written again`,
    );
  }
  return { bytes: end, last };
}

/** Where the line ending at `end` (exclusive, newline included) starts, scanning backwards by chunks. */
async function findLineStart(file: FileHandle, end: number): Promise<number> {
  // The byte at end - 1 is this line's own newline (or its last torn byte): look before it.
  let position = end - 1;
  const chunk = Buffer.alloc(CHUNK_BYTES);
  while (position > 0) {
    const from = Math.max(0, position - CHUNK_BYTES);
    const { bytesRead } = await file.read(chunk, 0, position - from, from);
    const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline >= 0) return from + newline + 1;
    position = from;
  }
  return 0;
}

async function readRange(file: FileHandle, start: number, end: number): Promise<string> {
  const buffer = Buffer.alloc(end - start);
  await file.read(buffer, 0, buffer.length, start);
  return buffer.toString("utf8");
}

/** Size, letter count and last letter of the rotated file (absent: all zero). */
async function inspectRotated(path: string): Promise<{ bytes: number; letters: number; last?: DeadLetter }> {
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { bytes: 0, letters: 0 };
    throw error;
  }
  try {
    const bytes = (await file.stat()).size;
    if (bytes === 0) return { bytes, letters: 0 };
    const line = await readRange(file, await findLineStart(file, bytes), bytes);
    const last = parseLetter(line.trimEnd());
    return { bytes, letters: await countLines(path, bytes), ...(last ? { last } : {}) };
  } finally {
    await file.close();
  }
}

/** Counts the newlines of the first `bytes` of a file, streamed. */
async function countLines(path: string, bytes: number): Promise<number> {
  if (bytes === 0) return 0;
  let lines = 0;
  for await (const chunk of createReadStream(path, {
    start: 0,
    end: bytes - 1,
    highWaterMark: CHUNK_BYTES,
  })) {
    const buffer = chunk as Buffer;
    for (let i = buffer.indexOf(0x0a); i >= 0; i = buffer.indexOf(0x0a, i + 1)) lines++;
  }
  return lines;
}

/** Streams the letters of the first `bytes` of a file (absent or empty: none). */
async function* readLetters(path: string, bytes: number): AsyncGenerator<DeadLetter> {
  if (bytes === 0) return;
  const stream = createReadStream(path, {
    start: 0,
    end: bytes - 1,
    encoding: "utf8",
    highWaterMark: CHUNK_BYTES,
  });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const text of lines) {
      number++;
      const letter = parseLetter(text);
      if (!letter)
        throw new PluginError("IO", `line ${number} of the dead-letter file ${path} is not a dead letter`);
      yield letter;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/**
 * Writes what `rewriter` keeps of a file's letters to a temp file and renames it over the file; returns the new
 * size and count, or undefined when nothing changed (the file is left alone).
 */
async function rewriteFile(
  path: string,
  bytes: number,
  rewriter: DeadLetterRewriter,
  batchLetters: number,
): Promise<{ bytes: number; letters: number } | undefined> {
  if (bytes === 0) return undefined;
  const temp = `${path}.tmp`;
  const out = await open(temp, "w", FILE_MODE);
  const result = { bytes: 0, letters: 0 };
  let changed = false;
  const flush = async (batch: DeadLetter[]): Promise<void> => {
    const kept = await rewriter(batch);
    changed ||= kept.length !== batch.length || kept.some((letter, i) => !sameLetter(letter, batch[i]!));
    const data = Buffer.from(kept.map((letter) => serializeLetter(letter)).join(""), "utf8");
    await out.write(data, 0, data.length, null);
    result.bytes += data.length;
    result.letters += kept.length;
  };
  try {
    let batch: DeadLetter[] = [];
    for await (const letter of readLetters(path, bytes)) {
      batch.push(letter);
      if (batch.length < batchLetters) continue;
      await flush(batch);
      batch = [];
    }
    if (batch.length > 0) await flush(batch);
    if (!changed) return undefined;
    await out.sync();
    await out.close();
    await rename(temp, path);
    await syncDirectory(path);
    return result;
  } catch (error) {
    throw ioError(`cannot rewrite the dead-letter file ${path}`, error);
  } finally {
    await out.close().catch(() => {});
    await unlink(temp).catch(() => {});
  }
}

function sameLetter(a: DeadLetter, b: DeadLetter): boolean {
  return serializeLetter(a) === serializeLetter(b);
}

/** Makes a rename or a new file durable: fsync of the directory holding it. */
export async function syncDirectory(path: string): Promise<void> {
  const directory = await open(dirname(path), "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function ioError(message: string, cause: unknown): PluginError {
  if (cause instanceof PluginError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new PluginError("IO", `${message}${detail}`, { cause });
}
