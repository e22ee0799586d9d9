import { HttpError } from "@influxdata/influxdb3-client";
import type { TransportFailure } from "./retry-policy.js";
import { TransportFailureError } from "./transport.js";

/** What a request came back with, in the terms the sink reasons in. */
export interface Answer {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>> | undefined;
  body: string | undefined;
  failure: TransportFailure | undefined;
  /** Short description for outcomes and logs, token redacted. */
  message: string;
  mayBeStored: boolean;
}

const MAX_REASON_CHARS = 500;

/** The answer of a write that resolved: stored. */
export const STORED: Answer = Object.freeze({
  status: 204,
  headers: undefined,
  body: undefined,
  failure: undefined,
  message: "",
  mayBeStored: true,
});

/** Turns what a failed write threw (the client's HttpError, the transport's failure, anything else) into an Answer. */
export function answerFromError(error: unknown, redact: (text: string) => string): Answer {
  if (error instanceof HttpError) {
    return {
      status: error.statusCode,
      headers: error.headers ?? undefined,
      body: error.body,
      failure: undefined,
      message: redact(truncate(describeHttpError(error))),
      mayBeStored: false,
    };
  }
  if (error instanceof TransportFailureError) {
    return {
      status: 0,
      headers: undefined,
      body: undefined,
      failure: error.failure,
      message: redact(error.message),
      mayBeStored: error.mayBeStored,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    status: 0,
    headers: undefined,
    body: undefined,
    failure: "connection",
    message: redact(truncate(message)),
    mayBeStored: false,
  };
}

/** `503 <the remote's reason>`, or the transport failure's message when no status came back. */
export function describeAnswer(answer: Answer): string {
  return answer.status === 0 ? answer.message : `${answer.status} ${answer.message}`;
}

/** The remote's reason: the client's reading of a JSON body, else the body text, else the status text. */
function describeHttpError(error: HttpError): string {
  const json: unknown = error.json;
  if (json !== undefined && error.message !== "") return error.message;
  const body = error.body?.trim();
  if (body) return body;
  return error.statusMessage ?? `HTTP ${error.statusCode}`;
}

function truncate(text: string): string {
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}
