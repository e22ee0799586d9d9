import type { Sink } from "edr-sink";

import type { DeadLetter, DeadLetterStore } from "./dead-letters.js";

/** Letters sent per `sink.write` call while replaying: 10,000. */
export const DEFAULT_REPLAY_BATCH_LINES = 10_000;

/** Options of {@link replayDeadLetters}. */
export interface ReplayOptions {
  /** Which letters to send; the others stay as they are. @default every letter */
  filter?: ((letter: DeadLetter) => boolean) | undefined;
  /** Letters per `sink.write` call. @default DEFAULT_REPLAY_BATCH_LINES (10000) */
  batchLines?: number | undefined;
  /** The time written on letters refused again. @default () => new Date() */
  now?: (() => Date) | undefined;
}

/** What became of the letters a replay sent. */
export interface ReplayResult {
  /** Sent and accepted: removed from the file. */
  delivered: number;
  /** Refused again: kept with the new status, reason and time. */
  rejected: number;
  /** Not delivered (retries used up, or held back after a halt): kept unchanged. */
  notDelivered: number;
  /** `"halted: <reason>"` when the remote stopped the replay (401, 403, 404, TLS); nothing after it was sent. */
  halted: string | undefined;
}

/**
 * Sends the dead letters, oldest first, through `sink` again, then rewrites the store's files atomically
 * keeping only the letters that were not delivered: refused again (with the new status, reason and time),
 * not delivered (unchanged), filtered out or never sent after a halt (unchanged). Appends to the store wait
 * until the replay is done.
 */
export async function replayDeadLetters(
  store: DeadLetterStore,
  sink: Sink,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const filter = options.filter ?? (() => true);
  const now = options.now ?? (() => new Date());
  const result: ReplayResult = { delivered: 0, rejected: 0, notDelivered: 0, halted: undefined };
  await store.rewrite(async (letters) => {
    if (result.halted !== undefined) return letters;
    const chosen = letters.filter(filter);
    if (chosen.length === 0) return letters;
    const written = await sink.write(chosen.map((letter) => letter.line));
    const updated = new Map<DeadLetter, DeadLetter | undefined>();
    const time = now().toISOString();
    written.outcomes.forEach((outcome, i) => {
      const letter = chosen[i]!;
      if (outcome.kind === "delivered") {
        result.delivered++;
        updated.set(letter, undefined);
      } else if (outcome.kind === "rejected") {
        result.rejected++;
        updated.set(letter, { ...letter, status: outcome.status, reason: outcome.message, time });
      } else {
        result.notDelivered++;
      }
    });
    result.halted = written.halted;
    return keepUndelivered(letters, updated);
  }, options.batchLines ?? DEFAULT_REPLAY_BATCH_LINES);
  return result;
}

/** The batch in order, delivered letters dropped and refused ones replaced by their update. */
function keepUndelivered(
  letters: readonly DeadLetter[],
  updated: ReadonlyMap<DeadLetter, DeadLetter | undefined>,
): DeadLetter[] {
  const kept: DeadLetter[] = [];
  for (const letter of letters) {
    if (!updated.has(letter)) kept.push(letter);
    else {
      const replacement = updated.get(letter);
      if (replacement) kept.push(replacement);
    }
  }
  return kept;
}
