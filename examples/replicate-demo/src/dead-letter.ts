import { open, readFile } from "node:fs/promises";

/** One line the remote refused for good, with its reason. */
export interface DeadLetter {
  table: string;
  line: string;
  status: number;
  reason: string;
}

/**
 * Appends refused lines to a JSON-lines file and fsyncs it, so they are on disk before the queue
 * acknowledges them: a refused line moves from the queue to this file, never to nowhere.
 */
export async function appendDeadLetters(path: string, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const file = await open(path, "a");
  try {
    await file.appendFile(letters.map((letter) => JSON.stringify(letter) + "\n").join(""));
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Reads the dead-letter file back (empty when no line was ever refused). */
export async function readDeadLetters(path: string): Promise<DeadLetter[]> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as DeadLetter);
}
