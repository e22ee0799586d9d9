// One query to the local instance over HTTP, its answer streamed as text. Built on node:http rather than
// fetch: the body arrives as the socket delivers it (no web-stream layer per piece), a connection closed
// before the end of a chunked answer is reported as an error by Node itself, and the response is
// destroyed, not drained, when a reader stops early.
import { request as requestHttp, type ClientRequest, type IncomingMessage } from "node:http";
import { request as requestHttps } from "node:https";
import type { LocalSource } from "./local-reader.js";
import { describeStatus, localReadError } from "./read-errors.js";

/** One request to the local instance and what to call it in an error. */
export interface LocalQuery {
  source: LocalSource;
  /** Path below the source URL (a path prefix of the URL is kept), e.g. `api/v3/query_sql`. */
  path: string;
  /** URL query parameters. */
  search?: Record<string, string>;
  /** A JSON body (sent with POST); without one the request is a GET. */
  json?: unknown;
  /** What is being read, for errors: `reading table "cpu"`. */
  subject: string;
  signal?: AbortSignal | undefined;
  /** Give up when nothing arrives for this long, waiting for the answer or for its next piece. */
  idleTimeoutMs: number;
}

/** Nothing came from the local instance for the idle timeout. */
class IdleTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no data from the local instance for ${ms} ms`);
  }
}

/** A kept-alive connection was closed by the server as the request went out on it: worth one more try. */
class StaleConnectionError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message, { cause });
  }
}

/** How much of an error answer is read (the rest is not needed for the message). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The URL of `path` under the source URL, keeping a path prefix such as `https://host/influx/`. */
export function endpointUrl(base: string, path: string, search: Record<string, string> = {}): URL {
  const url = new URL(base);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  const endpoint = new URL(path, url);
  for (const [key, value] of Object.entries(search)) endpoint.searchParams.set(key, value);
  return endpoint;
}

/**
 * Sends `query` and yields its answer's body piece by piece as the socket delivers it (bytes: a character
 * may be split between two pieces). Rejects with a `LOCAL_READ` PluginError when the request cannot be
 * sent, the answer is not 2xx (with the status and the server's message), the connection closes before the
 * answer is complete, nothing arrives for `idleTimeoutMs`, or `signal` aborts. Stopping the iteration
 * early closes the connection. A query is a read, so one that failed on a kept-alive connection the server
 * had just closed is sent once more on a new one (Node's documented remedy for that race).
 */
export async function* streamAnswer(query: LocalQuery): AsyncGenerator<Buffer, void, undefined> {
  const { source, subject, signal } = query;
  const url = endpointUrl(source.url, query.path, query.search);
  if (signal?.aborted) throw abortError(query);
  let response: IncomingMessage;
  try {
    try {
      response = await openResponse(url, query);
    } catch (error) {
      if (!(error instanceof StaleConnectionError)) throw error;
      response = await openResponse(url, query);
    }
  } catch (error) {
    throw transportError(query, url, error instanceof StaleConnectionError ? error.cause : error, false);
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) {
    const body = await readErrorBody(response, query.idleTimeoutMs);
    const detail = describeStatus(status, response.statusMessage ?? "", body, {
      database: source.database,
      path: url.pathname,
      hasToken: source.token !== undefined && source.token !== "",
    });
    throw localReadError(subject, detail, source.token);
  }
  try {
    yield* readBody(response, query.idleTimeoutMs);
  } catch (error) {
    throw transportError(query, url, error, true);
  }
}

function openResponse(url: URL, query: LocalQuery): Promise<IncomingMessage> {
  const headers: Record<string, string> = {
    // InfluxDB 3 reads Accept before `format`: a JSON-lines Accept gets a 400; */* lets `format` decide.
    accept: "*/*",
    "user-agent": "edr-plugin",
  };
  const token = query.source.token;
  if (token !== undefined && token !== "") headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (query.json !== undefined) {
    body = JSON.stringify(query.json);
    headers["content-type"] = "application/json";
  }
  const send = url.protocol === "https:" ? requestHttps : requestHttp;
  return new Promise((resolve, reject) => {
    let client: ClientRequest;
    try {
      client = send(url, {
        method: body === undefined ? "GET" : "POST",
        headers,
        ...(query.signal ? { signal: query.signal } : {}),
      });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const timer = setTimeout(
      () => client.destroy(new IdleTimeoutError(query.idleTimeoutMs)),
      query.idleTimeoutMs,
    );
    client.once("response", (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    // Stays attached after the answer arrived: a late socket error must not go unhandled.
    client.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(client.reusedSocket && error.code === "ECONNRESET" ? new StaleConnectionError(error) : error);
    });
    client.end(body);
  });
}

/**
 * The body's pieces; each piece must arrive within `idleTimeoutMs`. The timer runs only while
 * waiting for the server, not while the caller works on a piece, so a slow consumer is never timed out.
 */
async function* readBody(response: IncomingMessage, idleTimeoutMs: number): AsyncGenerator<Buffer> {
  const pieces = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let complete = false;
  try {
    for (;;) {
      const timer = setTimeout(() => response.destroy(new IdleTimeoutError(idleTimeoutMs)), idleTimeoutMs);
      let next: IteratorResult<Buffer>;
      try {
        next = await pieces.next();
      } finally {
        clearTimeout(timer);
      }
      if (next.done === true) {
        complete = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Stopped early (or failed): close the connection rather than read an answer nobody wants.
    if (!complete) response.destroy();
  }
}

/** The start of an error answer's body; whatever arrived if the connection fails meanwhile. */
async function readErrorBody(response: IncomingMessage, idleTimeoutMs: number): Promise<string> {
  const pieces: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const piece of readBody(response, idleTimeoutMs)) {
      pieces.push(piece);
      bytes += piece.length;
      if (bytes >= MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // The status already says the read failed; a body cut short is still worth showing.
  }
  return Buffer.concat(pieces, bytes).toString("utf8");
}

function abortError(query: LocalQuery): Error {
  return localReadError(query.subject, "aborted", query.source.token, query.signal?.reason);
}

/** A failure of the connection, in words, before (`answered` false) or after the answer's status arrived. */
function transportError(query: LocalQuery, url: URL, error: unknown, answered: boolean): Error {
  if (query.signal?.aborted) return abortError(query);
  if (error instanceof IdleTimeoutError) {
    return localReadError(query.subject, error.message, query.source.token, error);
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  const detail = answered
    ? `the answer was cut short: the connection closed before it was complete (${reason})`
    : `cannot reach the local instance at ${url.origin}: ${reason}${typeof code === "string" && !reason.includes(code) ? ` (${code})` : ""}`;
  return localReadError(query.subject, detail, query.source.token, error);
}
