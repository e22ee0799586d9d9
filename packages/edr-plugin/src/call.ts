import { randomUUID } from "node:crypto";
import type { Delivery } from "./delivery.js";
import { formatElapsed, taskLogger, type ReplicatorLogger } from "./logger.js";
import type { CallReport } from "./replicator-types.js";

/**
 * How long a call waits for lines not delivered to be worth sending again (a short `Retry-After`, the pause
 * between rounds) before it ends and leaves them to the next call or the drain loop.
 */
const CALL_RETRY_WAIT_MS = 5000;

/** One call of the replicator (a scheduled run, a flush of writes): its task id, log, report and clock. */
export interface Call {
  readonly log: ReplicatorLogger;
  readonly report: CallReport;
  /** The tables the call queued lines of, in the order it first did. */
  readonly queuedTables: Set<string>;
  /** Records a failure: in the report, in the status' last error, and in the log. */
  fail(text: string): void;
}

/** What a call reports its failures to besides its own report. */
export interface CallBook {
  error(text: string): void;
}

interface OpenCall extends Call {
  readonly started: bigint;
  /** The delivery's counters when the call started: what the call sent is the difference at its end. */
  readonly countersAtStart: { readonly delivered: number; readonly deadLettered: number };
}

/** Starts a call with a new task id; its log lines start with `[<task id>] `, as the seed's do. */
export function startCall(logger: ReplicatorLogger, delivery: Delivery, book: CallBook): Call {
  const taskId = randomUUID();
  const log = taskLogger(logger, taskId);
  const report: CallReport = {
    taskId,
    queued: 0,
    refused: 0,
    replicated: 0,
    deadLettered: 0,
    queuedAfter: 0,
    halted: undefined,
    watermarks: {},
    errors: [],
    elapsedNs: 0n,
  };
  const { delivered, deadLettered } = delivery.counters;
  const call: OpenCall = {
    log,
    report,
    queuedTables: new Set(),
    started: process.hrtime.bigint(),
    countersAtStart: { delivered, deadLettered },
    fail(text) {
      report.errors.push(text);
      book.error(text);
      log.error(`Error during replication: ${text}`);
    },
  };
  return call;
}

/** The seed's `Queued N lines from t1,t2`. */
export function logQueued(call: Call): void {
  call.log.info(`Queued ${call.report.queued} lines from ${[...call.queuedTables].join(",") || "no table"}`);
}

/** What {@link finishCall} reads besides the call. */
export interface FinishSources {
  delivery: Delivery;
  /** Lines still queued. */
  queued(): number;
  /** Per table, ns since the epoch. */
  watermarks: ReadonlyMap<string, bigint> | undefined;
  deadLetterPath: string;
  /** Send what is queued and wait for it (a call of its own), or leave that to the drain loop. */
  waitForDelivery: boolean;
}

/**
 * Ends a call as the seed does: sends what is queued (when asked to), then logs `Replicated N lines to remote
 * instance` and `Finished execution in …`, and fills the report.
 */
export async function finishCall(call: Call, sources: FinishSources): Promise<CallReport> {
  const open = call as OpenCall;
  const { delivery } = sources;
  if (sources.waitForDelivery) {
    try {
      // Appends already started passes in the background; this one waits for them and sends what is left.
      const pass = await delivery.pass({ maxRetryWaitMs: CALL_RETRY_WAIT_MS });
      if (pass.stalled !== undefined) call.fail(`not delivered yet: ${pass.stalled}`);
    } catch (error) {
      call.fail(errorMessage(error));
    }
  }
  const { report } = call;
  report.replicated = delivery.counters.delivered - open.countersAtStart.delivered;
  report.deadLettered = delivery.counters.deadLettered - open.countersAtStart.deadLettered;
  report.halted = delivery.halted;
  if (sources.waitForDelivery || report.replicated > 0)
    call.log.info(`Replicated ${report.replicated} lines to remote instance`);
  if (report.deadLettered > 0) {
    call.log.warn(`${report.deadLettered} lines refused by the remote, kept in ${sources.deadLetterPath}`);
  }
  report.queuedAfter = sources.queued();
  for (const [table, ns] of sources.watermarks ?? []) report.watermarks[table] = ns.toString();
  report.elapsedNs = process.hrtime.bigint() - open.started;
  call.log.info(`Finished execution in ${formatElapsed(report.elapsedNs)}`);
  return report;
}

/** An error's message, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
