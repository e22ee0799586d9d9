import type { Queue } from "edr-queue";

/** What a writer is told to wait when the queue is full. */
const FULL_RETRY_AFTER_SECONDS = 5;
/** The queue counts as full this close to `max_size`, so one more request still fits. */
const FULL_MARGIN_BYTES = 10 * 1024 * 1024;

/**
 * Why writes must wait: `queue` holds nearly `max_size`. `what` names it and why it fills: by default the
 * replication queue, when the remote is down for long or halted.
 */
export function fullRefusal(
  queue: Queue,
  maxBytes: number,
  what = "the replication queue is full",
  why = "the remote is not keeping up",
): { retryAfterSeconds: number; reason: string } | undefined {
  const { bytes } = queue.stats();
  if (bytes < maxBytes - Math.min(FULL_MARGIN_BYTES, maxBytes / 10)) return undefined;
  return {
    retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
    reason: `${what} (${bytes} of ${maxBytes} bytes, max_size): ${why}`,
  };
}
