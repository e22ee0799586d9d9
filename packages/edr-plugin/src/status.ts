import type { Queue, QueueStats } from "edr-queue";
import type { AnswerEvent } from "edr-sink";
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
  /**
   * On-write mode: the intake's counts (with downsampling, lines waiting for their bucket; without, writes
   * received and not yet moved to the queue) and how far downsampling has emitted.
   */
  intake: { stats: QueueStats | undefined; emittedUntilNs: bigint | undefined } | undefined;
  /** Age of the oldest write received and not yet queued (on-write mode without downsampling), ms. */
  receivedAgeMs: number | undefined;
  /** Set while the queue refuses new lines (full). */
  refusal: string | undefined;
  watermarks: ReadonlyMap<string, bigint> | undefined;
  now: number;
}

/** The counters a replicator keeps for `status()`, and the snapshot built from them. */
export interface StatusBook {
  accepted(table: string, lines: number): void;
  refused(table: string | undefined, stage: string): void;
  late(table: string, lines: number): void;
  /** On-write downsampling: a line already in its open bucket (a writer's retry), counted once. */
  duplicate(): void;
  /** One request's answer (from edr-sink's `onAnswer`). */
  answer(event: AnswerEvent): void;
  error(text: string): void;
  snapshot(sources: StatusSources): ReplicatorStatus;
}

/** Decisions of the sink that send the same lines again. */
const RETRY_ACTIONS: ReadonlySet<AnswerEvent["action"]> = new Set(["wait", "split", "bisect", "partial"]);

/** Creates the book of one replicator; `queuedAtStart` is what the queue held when it opened. */
export function createStatusBook(
  mode: "scheduled" | "writes",
  queuedAtStart: number,
  startedAtMs: number,
): StatusBook {
  let accepted = 0;
  let refused = 0;
  let late = 0;
  let duplicates = 0;
  let lastError: string | undefined;
  const refusedByReason = new Map<string, number>();
  const retriesByStatus = new Map<string, number>();
  const answersByStatus = new Map<string, number>();
  const perTable = new Map<string, { accepted: number; refused: number; late: number }>();
  const table = (name: string) => {
    let counts = perTable.get(name);
    if (counts === undefined) perTable.set(name, (counts = { accepted: 0, refused: 0, late: 0 }));
    return counts;
  };
  const bump = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);
  return {
    accepted(name, lines) {
      accepted += lines;
      table(name).accepted += lines;
    },
    refused(name, stage) {
      refused++;
      if (name !== undefined) table(name).refused++;
      bump(refusedByReason, stage);
    },
    late(name, lines) {
      late += lines;
      table(name).late += lines;
    },
    duplicate() {
      duplicates++;
    },
    answer(event) {
      const status = event.status === 0 ? (event.failure ?? "connection") : String(event.status);
      bump(answersByStatus, status);
      if (RETRY_ACTIONS.has(event.action)) bump(retriesByStatus, status);
    },
    error(text) {
      lastError = text;
    },
    snapshot(sources) {
      const stats = sources.queue.stats();
      const counters = sources.delivery.counters;
      const settled = sources.delivery.settled();
      const { state, reason } = health(sources);
      const watermarks: Record<string, string> = {};
      for (const [name, ns] of sources.watermarks ?? []) watermarks[name] = formatNs(ns);
      const lines = {
        queuedAtStart,
        accepted,
        delivered: settled.delivered,
        deadLettered: settled.deadLettered,
        queued: stats.entries,
        dropped: stats.dropped,
        refused,
        late,
        duplicates,
      };
      const intakeStats = sources.intake?.stats;
      return {
        state,
        reason,
        mode,
        startedAt: new Date(startedAtMs).toISOString(),
        queue: {
          name: sources.queueName,
          dir: sources.queueDir,
          entries: stats.entries,
          bytes: stats.bytes,
          maxBytes: sources.maxBytes,
          oldestAgeMs: stats.oldestAgeMs,
        },
        intake:
          sources.intake === undefined
            ? undefined
            : {
                entries: intakeStats?.entries ?? 0,
                bytes: intakeStats?.bytes ?? 0,
                emittedUntil:
                  sources.intake.emittedUntilNs === undefined
                    ? undefined
                    : formatNs(sources.intake.emittedUntilNs),
              },
        lagSeconds: Math.max(stats.oldestAgeMs ?? 0, sources.receivedAgeMs ?? 0) / 1000,
        lines,
        deadLettersByStatus: Object.fromEntries(
          [...counters.deadLettersByStatus].map(([k, v]) => [String(k), v]),
        ),
        refusedByReason: Object.fromEntries(refusedByReason),
        retriesByStatus: Object.fromEntries(retriesByStatus),
        answersByStatus: Object.fromEntries(answersByStatus),
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

/** Halted while the remote refuses every write; degraded while lines wait to be sent again or the queue is full. */
function health(sources: StatusSources): { state: ReplicatorState; reason: string | undefined } {
  const halted = sources.delivery.halted;
  if (halted !== undefined)
    return { state: halted as `halted: ${string}`, reason: halted.replace(/^halted: /, "") };
  if (sources.refusal !== undefined) return { state: "degraded", reason: sources.refusal };
  const { counters, pendingLines } = sources.delivery;
  const failing =
    counters.lastNotDeliveredMs !== undefined &&
    (counters.lastSuccessMs === undefined || counters.lastNotDeliveredMs > counters.lastSuccessMs);
  if (pendingLines > 0 || failing) {
    const reason = counters.lastReason ?? "lines wait to be sent again";
    return { state: "degraded", reason: `the last lines sent were not delivered: ${reason}` };
  }
  return { state: "healthy", reason: undefined };
}
