// The dead-letter file's format and the file work of its store: letters as JSON lines, a torn tail cut off,
// counting and streaming letters, rewriting a file atomically.
import { createReadStream } from "node:fs";
import { chmod, mkdir, open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { createInterface } from "node:readline";

import { PluginError } from "./errors.js";

/** Bytes read at a time when scanning the file backwards for its last line, or counting its lines. */
const CHUNK_BYTES = 64 * 1024;
export const FILE_MODE = 0o600;
/** Mode of a directory edr creates for its files (an existing one keeps its mode). */
export const DIR_MODE = 0o700;

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

/**
 * Rewrites one batch of letters during {@link DeadLetterStore.rewrite}: returns the letters to keep,
 * changed or not, in order.
 */
export type DeadLetterRewriter = (letters: readonly DeadLetter[]) => Promise<readonly DeadLetter[]>;

/** One letter as a JSON line; `JSON.stringify` escapes newlines and lone surrogates, so it stays one line. */
export function serializeLetter(letter: DeadLetter): string {
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
export function isLetter(value: unknown): value is DeadLetter {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const strings = ["line", "table", "reason", "time"].every((key) => typeof v[key] === "string");
  const ordinal = v["ordinal"];
  return strings && Number.isFinite(v["status"]) && Number.isSafeInteger(ordinal) && (ordinal as number) >= 0;
}

/** Creates `dir` and its missing parents with mode 0700 whatever the umask; an existing directory is left alone. */
export async function mkdirPrivate(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  let created = first;
  await chmod(created, DIR_MODE);
  for (const part of relative(first, resolve(dir))
    .split(sep)
    .filter((p) => p !== "")) {
    created = join(created, part);
    await chmod(created, DIR_MODE);
  }
}

/** Sets an existing file that is not 0600 to 0600 (written by an older version, or made wider by hand). */
export async function restrictExisting(path: string): Promise<void> {
  try {
    if (((await stat(path)).mode & 0o777) !== FILE_MODE) await chmod(path, FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

export async function openForAppend(path: string): Promise<FileHandle> {
  const file = await open(path, "a+", FILE_MODE);
  // A file created by an older version (or by hand) may be world-readable: letters hold the data itself.
  await file.chmod(FILE_MODE);
  return file;
}

/**
 * Cuts every byte after the last valid letter's newline (a torn append, or a line that is not JSON) and
 * returns the remaining size and that last letter.
 */
export async function cutTornTail(
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
/**
 * Bytes of a file up to the end of its last whole line (0 when it does not exist): a line still being appended
 * by another process, without its newline yet, is left out.
 */
export async function wholeLinesBytes(path: string): Promise<number> {
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw ioError(`cannot read the dead-letter file ${path}`, error);
  }
  try {
    const size = (await file.stat()).size;
    if (size === 0) return 0;
    const last = Buffer.alloc(1);
    await file.read(last, 0, 1, size - 1);
    return last[0] === 0x0a ? size : await findLineStart(file, size);
  } finally {
    await file.close();
  }
}

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
export async function inspectRotated(
  path: string,
): Promise<{ bytes: number; letters: number; last?: DeadLetter }> {
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
export async function countLines(path: string, bytes: number): Promise<number> {
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
export async function* readLetters(path: string, bytes: number): AsyncGenerator<DeadLetter> {
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
export async function rewriteFile(
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
    // Whatever the umask, and a temp file left by a crash keeps its own mode when opened again.
    await out.chmod(FILE_MODE);
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

export function ioError(message: string, cause: unknown): PluginError {
  if (cause instanceof PluginError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new PluginError("IO", `${message}${detail}`, { cause });
}
