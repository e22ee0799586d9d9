import type { Queue } from "edr-queue";
import type { Delivery } from "./delivery.js";
import type { ReplicatorState, ReplicatorStatus } from "./replicator-types.js";
import { formatNs } from "./windows.js";

/** What `status()` reads besides the counters it keeps. */
export interface StatusSources {
  queue: Queue;
  queueName: string;
  queueDir: string;
  maxBytes: number;
  delivery: Delivery;
  deadLetters: { stats(): { letters: number } };
  watermarks: ReadonlyMap<string, bigint> | undefined;
  now: number;
}

/** The counters a replicator keeps for `status()`, and the snapshot built from them. */
export interface StatusBook {
  accepted(table: string, lines: number): void;
  refused(table: string, stage: string): void;
  error(text: string): void;
  snapshot(sources: StatusSources): ReplicatorStatus;
}

/** Creates the book of one replicator; `queuedAtStart` is what the queue held when it opened. */
export function createStatusBook(mode: "scheduled" | "writes", queuedAtStart: number): StatusBook {
  let accepted = 0;
  let refused = 0;
  let lastError: string | undefined;
  const refusedByReason = new Map<string, number>();
  const perTable = new Map<string, { accepted: number; refused: number }>();
  const table = (name: string) => {
    let counts = perTable.get(name);
    if (counts === undefined) perTable.set(name, (counts = { accepted: 0, refused: 0 }));
    return counts;
  };
  return {
    accepted(name, lines) {
      accepted += lines;
      table(name).accepted += lines;
    },
    refused(name, stage) {
      refused++;
      table(name).refused++;
      refusedByReason.set(stage, (refusedByReason.get(stage) ?? 0) + 1);
    },
    error(text) {
      lastError = text;
    },
    snapshot(sources) {
      const stats = sources.queue.stats();
      const counters = sources.delivery.counters;
      const dropped = stats.dropped;
      const halted = sources.delivery.halted;
      const state: ReplicatorState =
        halted !== undefined
          ? (halted as `halted: ${string}`)
          : sources.delivery.pendingLines > 0
            ? "degraded"
            : "healthy";
      const watermarks: Record<string, string> = {};
      for (const [name, ns] of sources.watermarks ?? []) watermarks[name] = formatNs(ns);
      const lines = {
        queuedAtStart,
        accepted,
        delivered: counters.delivered,
        deadLettered: counters.deadLettered,
        queued: stats.entries,
        dropped,
        refused,
      };
      return {
        state,
        mode,
        queue: {
          name: sources.queueName,
          dir: sources.queueDir,
          entries: stats.entries,
          bytes: stats.bytes,
          maxBytes: sources.maxBytes,
          oldestAgeMs: stats.oldestAgeMs,
        },
        lagSeconds: stats.oldestAgeMs === undefined ? 0 : stats.oldestAgeMs / 1000,
        lines,
        deadLettersByStatus: Object.fromEntries(
          [...counters.deadLettersByStatus].map(([k, v]) => [String(k), v]),
        ),
        refusedByReason: Object.fromEntries(refusedByReason),
        retriesByStatus: {},
        requests: counters.requests,
        lastSuccessTime:
          counters.lastSuccessMs === undefined ? undefined : new Date(counters.lastSuccessMs).toISOString(),
        lastError,
        perTable: Object.fromEntries(perTable),
        watermarks,
        reconciled:
          lines.queuedAtStart + lines.accepted ===
          lines.delivered + lines.deadLettered + lines.queued + lines.dropped,
      };
    },
  };
}
