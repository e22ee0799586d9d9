import { redactToken } from "edr-sink";

import { PluginError } from "../errors.js";

/** How much of an error answer's body goes into a message. */
const MAX_BODY_CHARS = 1000;
const REDACTED = "<redacted>";

/**
 * A `LOCAL_READ` error: `<subject> failed: <detail>`, e.g. `reading table "cpu" failed: the local instance
 * answered 500 …`. The token is cut out of the whole message wherever it appears (a server may echo a
 * header back), so no error of a reader ever carries it.
 */
export function localReadError(
  subject: string,
  detail: string,
  token: string | undefined,
  cause?: unknown,
): PluginError {
  return new PluginError(
    "LOCAL_READ",
    redact(`${subject} failed: ${detail}`, token),
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Throws the `LOCAL_READ` error of an aborted read when `signal` has aborted: checked before each chunk is
 * handed over, since chunks already parsed from the answer would otherwise still flow after the abort.
 */
export function throwIfAborted(
  subject: string,
  signal: AbortSignal | undefined,
  token: string | undefined,
): void {
  if (signal?.aborted) throw localReadError(subject, "aborted", token, signal.reason);
}

/** `text` with every occurrence of `token` replaced (nothing to do without a token). */
export function redact(text: string, token: string | undefined): string {
  return redactToken(text, token, REDACTED);
}

/** An error answer's body for a message: trimmed, cut to a readable length. */
export function bodyExcerpt(body: string): string {
  const trimmed = body.trim();
  if (trimmed === "") return "(empty body)";
  return trimmed.length > MAX_BODY_CHARS ? `${trimmed.slice(0, MAX_BODY_CHARS)}…` : trimmed;
}

/**
 * What a non-2xx answer means, in words: the status and the server's own message, plus a hint for the
 * answers a person can act on (an unknown database, a missing or refused token, an endpoint the server
 * does not serve).
 */
export function describeStatus(
  status: number,
  statusText: string,
  body: string,
  context: { database: string; path: string; hasToken: boolean },
): string {
  const answer = `${status}${statusText === "" ? "" : ` ${statusText}`}: ${bodyExcerpt(body)}`;
  if (status === 404 && /database not found/i.test(body)) {
    return `database ${JSON.stringify(context.database)} not found on the local instance (${answer})`;
  }
  if (status === 404) {
    return `the local instance answered ${answer} (does it serve ${context.path}?)`;
  }
  if (status === 401 || status === 403) {
    const hint = context.hasToken
      ? "the local token was refused"
      : "no local token was given (set local_token)";
    return `the local instance answered ${answer}; ${hint}`;
  }
  return `the local instance answered ${answer}`;
}

/** A statement error inside a 200 answer (InfluxQL), with the same hint for an unknown database. */
export function describeStatementError(error: string, database: string): string {
  if (/database not found/i.test(error)) {
    return `database ${JSON.stringify(database)} not found on the local instance (${error})`;
  }
  return `the query failed: ${error}`;
}

/** A line of an answer for a message: enough to recognise it, not the whole of a large row. */
export function lineExcerpt(bytes: Buffer, start: number, end: number): string {
  const limit = 120;
  return end - start > limit
    ? `${bytes.toString("utf8", start, start + limit)}…`
    : bytes.toString("utf8", start, end);
}
