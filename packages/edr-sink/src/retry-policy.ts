/** Which write endpoint a request went to: it decides how a 400 is read. */
export type WriteApi = "v3" | "v2" | "v1";

/** Longest wait a `Retry-After` may impose (10 minutes): a remote asking for more is asked again sooner. */
export const RETRY_AFTER_CAP_MS = 600_000;

/** How a request ended when no HTTP status came back. */
export type TransportFailure = "timeout" | "connection" | "tls";

/** What the remote answered (or what happened instead), as the retry policy needs it. */
export interface RetryInput {
  /** HTTP status, or 0 when no answer came back (see `failure`). */
  status: number;
  /** Response headers (only `retry-after` is read); names in lower case, as node gives them. */
  headers?: Readonly<Record<string, string | string[] | undefined>> | undefined;
  /** Set when `status` is 0. */
  failure?: TransportFailure | undefined;
  /** Attempts already made for these lines in this write call, this one included (1 on the first answer). */
  attempt: number;
  /** Lines in the request: a 413 or a v1/v2 400 on one line rejects it instead of splitting. */
  lineCount: number;
  writeApi: WriteApi;
}

/** Tuning of the retry policy; every field has a default in `createSink`. */
export interface RetryPolicyOptions {
  /** Retries allowed after the first attempt, per request, in one write call. */
  maxRetries: number;
  /** First backoff ceiling; doubles each retry. */
  backoffBaseMs: number;
  /** Largest backoff ceiling. */
  backoffMaxMs: number;
  /** Uniform in [0, 1): full jitter draws the wait in [0, ceiling). Injectable for tests. */
  random: () => number;
  /** Wall clock in ms since the epoch, for `Retry-After` given as an HTTP date. */
  now: () => number;
}

/**
 * What to do with a request's lines after an answer:
 * - `deliver`: stored.
 * - `wait`: send the same lines again after `afterMs`.
 * - `give_up`: retries used up for this call; the lines are not delivered, try again after `afterMs`.
 * - `split`: 413 on several lines: send each half.
 * - `partial`: a v3 400/422, whose body lists the rejected lines by number.
 * - `bisect`: a v1/v2 400 rejects the whole batch: find the bad lines by halving.
 * - `reject`: the remote refuses these lines for good (one line over the size limit, or one bad line).
 * - `halt`: nothing will get through until someone fixes the remote or the config (401/403/404, TLS);
 *   nothing is rejected.
 */
export type RetryDecision =
  | { action: "deliver" }
  | { action: "wait"; afterMs: number }
  | { action: "give_up"; afterMs: number }
  | { action: "split" }
  | { action: "partial" }
  | { action: "bisect" }
  | { action: "reject" }
  | { action: "halt" };

/**
 * Reads `Retry-After` as delay-seconds or an HTTP date, capped at {@link RETRY_AFTER_CAP_MS}.
 * Returns undefined when absent or unreadable (the caller then backs off).
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  now: number,
): number | undefined {
  const text = typeof value === "string" ? value : value?.[0];
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    // An HTTP date has a day or month name; Date.parse alone would take "-5" as a year.
    if (!/[a-z]/i.test(trimmed)) return undefined;
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(Math.ceil(ms), RETRY_AFTER_CAP_MS);
}

/** Capped exponential backoff with full jitter: uniform in [0, min(max, base * 2^(retry-1))). */
export function computeBackoffMs(retry: number, options: RetryPolicyOptions): number {
  const ceiling = Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(options.random() * ceiling);
}

/** Decides what happens to a request's lines after one answer. Pure: same input, same decision. */
export function decideRetry(input: RetryInput, options: RetryPolicyOptions): RetryDecision {
  const { status } = input;
  if (status === 0) {
    if (input.failure === "tls") return { action: "halt" };
    return retryLater(computeBackoffMs(input.attempt, options), input.attempt, options);
  }
  if (status >= 200 && status < 300) return { action: "deliver" };
  if (status === 429 || status === 503) {
    const hinted = parseRetryAfter(input.headers?.["retry-after"], options.now());
    return retryLater(hinted ?? computeBackoffMs(input.attempt, options), input.attempt, options);
  }
  if (status === 413) return input.lineCount > 1 ? { action: "split" } : { action: "reject" };
  if (status === 400 || status === 422) {
    if (input.writeApi === "v3") return { action: "partial" };
    return input.lineCount > 1 ? { action: "bisect" } : { action: "reject" };
  }
  if (status >= 500) return retryLater(computeBackoffMs(input.attempt, options), input.attempt, options);
  // 401/403/404 and anything else unexpected (3xx, 405, 409…) mean a misconfigured remote:
  // rejecting would dead-letter good data, so stop and say why.
  return { action: "halt" };
}

function retryLater(afterMs: number, attempt: number, options: RetryPolicyOptions): RetryDecision {
  return attempt > options.maxRetries ? { action: "give_up", afterMs } : { action: "wait", afterMs };
}
