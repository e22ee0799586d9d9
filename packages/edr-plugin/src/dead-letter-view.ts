import { stat } from "node:fs/promises";
import { deadLetterPaths, readLetters, wholeLinesBytes, type DeadLetter } from "./dead-letter-file.js";
import { PluginError } from "./errors.js";

/** What a queue's dead-letter files hold, counted without opening them for writing. */
export interface DeadLetterSummary {
  /** The current file and the rotated one. */
  readonly paths: readonly string[];
  readonly letters: number;
  readonly bytes: number;
  /** Letters per HTTP status of the remote's refusal. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Letters per table. */
  readonly byTable: Readonly<Record<string, number>>;
  /** When the oldest and newest letters were refused (ISO 8601). */
  readonly oldest: string | undefined;
  readonly newest: string | undefined;
}

/**
 * Every dead letter of a queue, oldest first (the rotated file first), read without a lock and without
 * writing, so it works while a replicator appends: a last line still being written (no newline yet) is not
 * read. Rejects with a `PluginError` (`IO`) naming the file and line of a line that is not a letter.
 */
export async function* readDeadLetters(dir: string, queueName: string): AsyncGenerator<DeadLetter> {
  const { path, rotatedPath } = deadLetterPaths(dir, queueName);
  for (const file of [rotatedPath, path]) yield* readLetters(file, await wholeLinesBytes(file));
}

/** Counts a queue's dead letters by status and table (read-only, see {@link readDeadLetters}). */
export async function summarizeDeadLetters(dir: string, queueName: string): Promise<DeadLetterSummary> {
  const { path, rotatedPath } = deadLetterPaths(dir, queueName);
  const byStatus: Record<string, number> = {};
  const byTable = new Map<string, number>();
  let letters = 0;
  let oldest: string | undefined;
  let newest: string | undefined;
  for await (const letter of readDeadLetters(dir, queueName)) {
    letters++;
    byStatus[letter.status] = (byStatus[letter.status] ?? 0) + 1;
    byTable.set(letter.table, (byTable.get(letter.table) ?? 0) + 1);
    if (oldest === undefined || letter.time < oldest) oldest = letter.time;
    if (newest === undefined || letter.time > newest) newest = letter.time;
  }
  const bytes = (await sizeOf(rotatedPath)) + (await sizeOf(path));
  // Object.fromEntries: a table named __proto__ is a key like any other.
  return {
    paths: [path, rotatedPath],
    letters,
    bytes,
    byStatus,
    byTable: Object.fromEntries(byTable),
    oldest,
    newest,
  };
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw new PluginError("IO", `cannot read the dead-letter file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
