import type { Queue, QueueEntry } from "edr-queue";
import type { Sink } from "edr-sink";
import { appendDeadLetters, type DeadLetter } from "./dead-letter.js";

/** What one drain did. */
export interface DrainReport {
  delivered: number;
  deadLettered: number;
  requests: number;
  /** Set when the remote still refused after `maxRounds` write calls: the rest stays queued. */
  stalled: string | undefined;
}

/**
 * Sends the queue to the remote, oldest first, and acknowledges each batch once every line of it is
 * delivered or dead-lettered. Lines not delivered yet are sent again (only those, in order) once the
 * remote's `retryAt` has passed, so each series keeps its order and nothing is acknowledged unsent.
 */
export async function drainQueue(
  queue: Queue,
  sink: Sink,
  deadLetterPath: string,
  options: { maxRounds?: number; batchEntries?: number } = {},
): Promise<DrainReport> {
  const report: DrainReport = { delivered: 0, deadLettered: 0, requests: 0, stalled: undefined };
  const maxRounds = options.maxRounds ?? 5;
  for (;;) {
    const batch = await queue.read({ maxEntries: options.batchEntries ?? 5000 });
    if (batch.entries.length === 0) return report;
    let pending: readonly QueueEntry[] = batch.entries;
    for (let round = 1; pending.length > 0; round++) {
      const result = await sink.write(pending.map((entry) => entry.line));
      report.requests += result.requests;
      report.delivered += result.delivered;
      const letters: DeadLetter[] = [];
      const again: QueueEntry[] = [];
      result.outcomes.forEach((outcome, i) => {
        const entry = pending[i]!;
        if (outcome.kind === "rejected")
          letters.push({ ...entry, status: outcome.status, reason: outcome.message });
        else if (outcome.kind === "not_delivered") again.push(entry);
      });
      await appendDeadLetters(deadLetterPath, letters);
      report.deadLettered += letters.length;
      pending = again;
      if (pending.length === 0) break;
      if (round === maxRounds) {
        // Not acknowledged: the whole batch is read again next time (a re-sent point is harmless).
        queue.rewind();
        report.stalled = result.halted ?? `${pending.length} lines still not delivered`;
        return report;
      }
      await sleep(Math.max(0, (result.retryAt ?? Date.now()) - Date.now()));
    }
    await queue.ack(batch);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
