/** The line is stored on the remote. */
export interface DeliveredOutcome {
  readonly kind: "delivered";
}

/** The remote refused the line for good: keep it in a dead-letter file with the reason. */
export interface RejectedOutcome {
  readonly kind: "rejected";
  /** The remote's HTTP status (400, 413, 422). */
  readonly status: number;
  /** The remote's reason for this line (token redacted). */
  readonly message: string;
}

/** The line did not get through in this call; it was not refused: send it again at or after `retryAt`. */
export interface NotDeliveredOutcome {
  readonly kind: "not_delivered";
  /** Epoch ms before which sending again is pointless (a `Retry-After`, a backoff, or the halt pause). */
  readonly retryAt: number;
  /** Why, e.g. `503 Service Unavailable after 4 attempts`, `halted: 401 …`, `timed out after 30000 ms …`. */
  readonly reason: string;
  /** True when the last request timed out or lost its connection after sending: the remote may have stored it. */
  readonly mayBeStored: boolean;
}

/** What became of one line of a `write` call. */
export type LineOutcome = DeliveredOutcome | RejectedOutcome | NotDeliveredOutcome;

/** What became of every line of a `write` call. */
export interface WriteResult {
  /** One outcome per line, at the line's index. Lines with the same fate share one frozen object. */
  readonly outcomes: readonly LineOutcome[];
  readonly delivered: number;
  readonly rejected: number;
  readonly notDelivered: number;
  /** Latest `retryAt` among not-delivered lines (when all of them may be tried again), else undefined. */
  readonly retryAt: number | undefined;
  /** `halted: <reason>` when a 401/403/404 (or a TLS failure) stopped this call, else undefined. */
  readonly halted: string | undefined;
  /** Requests sent, retries included. */
  readonly requests: number;
}

/** The one shared outcome of every delivered line. */
export const DELIVERED: DeliveredOutcome = Object.freeze({ kind: "delivered" });

/** Sets `outcome` for every line index of `indices`. */
export function fillOutcomes(
  outcomes: LineOutcome[],
  indices: readonly number[],
  outcome: LineOutcome,
): void {
  for (let k = 0; k < indices.length; k++) outcomes[indices[k]!] = outcome;
}

/** Counts the outcomes of a call into its WriteResult. */
export function summariseOutcomes(
  outcomes: readonly LineOutcome[],
  halted: string | undefined,
  requests: number,
): WriteResult {
  let delivered = 0;
  let rejected = 0;
  let notDelivered = 0;
  let retryAt: number | undefined;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    if (o === DELIVERED || o.kind === "delivered") delivered++;
    else if (o.kind === "rejected") rejected++;
    else {
      notDelivered++;
      if (retryAt === undefined || o.retryAt > retryAt) retryAt = o.retryAt;
    }
  }
  return { outcomes, delivered, rejected, notDelivered, retryAt, halted, requests };
}
