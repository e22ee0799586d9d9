// Talking to the local instance: where a request goes (the local URL's path prefix kept), which headers
// pass (never the hop-by-hop ones), one kept-alive agent for every request, and a write sent with its
// answer read whole. Credentials are the client's own (its Authorization header, v1 `u`/`p`): edr holds
// none for the local instance.
import {
  Agent as HttpAgent,
  request as requestHttp,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type RequestOptions,
  type ClientRequest,
  type IncomingMessage,
} from "node:http";
import { Agent as HttpsAgent, request as requestHttps } from "node:https";

/** Headers that belong to one connection, not to the message (RFC 9110 7.6.1), plus what edr sets itself. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "host",
]);

/** The local instance: its origin, path prefix and the agent every request to it shares. */
export interface LocalTarget {
  readonly url: URL;
  /** The local URL's path without its trailing slash (`""` for none): requests keep it in front of theirs. */
  readonly prefix: string;
  readonly agent: HttpAgent;
  readonly request: (options: RequestOptions) => ClientRequest;
  readonly timeoutMs: number;
  /** The local URL without credentials, for messages. */
  readonly shown: string;
}

/** Builds the target for `localUrl` (http or https); throws a TypeError for a URL that cannot be one. */
export function createLocalTarget(localUrl: string, timeoutMs: number, maxSockets: number): LocalTarget {
  const url = new URL(localUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`expected an http: or https: URL, got "${url.protocol}"`);
  }
  const https = url.protocol === "https:";
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  const agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const send = https ? requestHttps : requestHttp;
  return {
    url,
    prefix: url.pathname.replace(/\/+$/, ""),
    agent,
    request: (options) => send(options),
    timeoutMs,
    shown: `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`,
  };
}

/** Request options for `method` to `path` (the client's path and query, as received) on the local instance. */
export function localRequestOptions(
  target: LocalTarget,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
): RequestOptions {
  return {
    protocol: target.url.protocol,
    hostname: target.url.hostname.replace(/^\[|\]$/g, ""),
    port: target.url.port,
    method,
    path: target.prefix + path,
    headers,
    agent: target.agent,
  };
}

/**
 * The client's request headers to pass on: everything but hop-by-hop headers (and those its `Connection`
 * header names) and `Host`; `drop` names more to leave out (e.g. `content-length` when the body changes).
 */
export function passedRequestHeaders(
  incoming: IncomingHttpHeaders,
  drop: readonly string[] = [],
): OutgoingHttpHeaders {
  const named = connectionTokens(incoming.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * The local instance's answer headers to pass back, as a raw `[name, value, …]` list (repeated headers kept
 * apart): everything but hop-by-hop headers, and `Content-Length` unless `keepLength` (a streamed answer
 * keeps its own; a buffered one gets it set from the body sent).
 */
export function passedResponseHeaders(rawHeaders: readonly string[], keepLength = false): string[] {
  let named: Set<string> | undefined;
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === "connection") named = connectionTokens(rawHeaders[i + 1]);
  }
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || (name === "content-length" && !keepLength) || named?.has(name) === true)
      continue;
    out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return out;
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  const tokens = new Set<string>();
  for (const token of text.split(",")) {
    const name = token.trim().toLowerCase();
    if (name !== "" && name !== "close" && name !== "keep-alive") tokens.add(name);
  }
  return tokens;
}

/** The local instance's whole answer to a write. */
export interface LocalAnswer {
  status: number;
  rawHeaders: string[];
  body: Buffer;
}

/** The request never reached the local instance (refused, no route, name not found): nothing was stored. */
export class LocalUnreachableError extends Error {
  override readonly name = "LocalUnreachableError";
}

/** The request was sent but its answer was lost or timed out: the local instance may have stored it. */
export class LocalAnswerLostError extends Error {
  override readonly name = "LocalAnswerLostError";
}

/** Seconds a client is asked to wait when the local instance cannot be reached. */
export const LOCAL_UNREACHABLE_RETRY_AFTER_SECONDS = 1;

/** Errors that mean no connection was made, so nothing reached the server. */
export const NOT_CONNECTED: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * The most of an answer that is read before it counts as lost. A partial-write body lists each bad line in
 * about 150 bytes: a 10 MiB body of short bad lines can get an answer several times its size.
 */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * POSTs `body` to `path` on the local instance and reads the answer whole. Rejects with
 * {@link LocalUnreachableError} or {@link LocalAnswerLostError}. A write that failed on a kept-alive
 * connection the server had just closed is sent once more (re-writing identical points is harmless).
 */
export async function postToLocal(
  target: LocalTarget,
  path: string,
  headers: OutgoingHttpHeaders,
  body: Buffer,
): Promise<LocalAnswer> {
  try {
    return await postOnce(target, path, headers, body);
  } catch (error) {
    if (!(error instanceof StaleConnectionError)) throw error;
    return postOnce(target, path, headers, body);
  }
}

class StaleConnectionError extends Error {}

function postOnce(
  target: LocalTarget,
  path: string,
  headers: OutgoingHttpHeaders,
  body: Buffer,
): Promise<LocalAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let answered = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const req = target.request(
      localRequestOptions(target, "POST", path, { ...headers, "content-length": body.length }),
    );
    req.setTimeout(target.timeoutMs, () => {
      req.destroy(
        new LocalAnswerLostError(`no answer from the local instance within ${target.timeoutMs} ms`),
      );
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error instanceof LocalAnswerLostError) return fail(error);
      if (req.reusedSocket && error.code === "ECONNRESET" && !answered)
        return fail(new StaleConnectionError());
      const reason = `${error.message}${error.code !== undefined && !error.message.includes(error.code) ? ` (${error.code})` : ""}`;
      if (error.code !== undefined && NOT_CONNECTED.has(error.code)) {
        return fail(
          new LocalUnreachableError(`cannot reach the local instance at ${target.shown}: ${reason}`),
        );
      }
      fail(new LocalAnswerLostError(`the local instance's answer was lost: ${reason}`));
    });
    req.on("response", (res: IncomingMessage) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.destroy(
            new LocalAnswerLostError(`the local instance's answer is over ${MAX_ANSWER_BYTES} bytes`),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", (error) =>
        fail(
          error instanceof LocalAnswerLostError
            ? error
            : new LocalAnswerLostError(`the local instance's answer was cut short: ${error.message}`),
        ),
      );
      res.on("close", () => {
        if (!res.complete)
          fail(
            new LocalAnswerLostError(
              "the local instance closed the connection before its answer was complete",
            ),
          );
      });
      res.on("end", () => {
        if (settled) return;
        settled = true;
        resolve({
          status: res.statusCode ?? 0,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks, size),
        });
      });
    });
    req.end(body);
  });
}
