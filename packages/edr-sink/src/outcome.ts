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
