import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { setName } from "../stored-point.js";
import type { StoredField, StoredPoint } from "../stored-point.js";
import { checkAuth, UNAUTHENTICATED_BODY } from "./auth.js";
import { bodyErrorReply, readBody } from "./body.js";
import { TestServerError } from "./errors.js";
import { FaultState, type FaultSwitches } from "./faults.js";
import type { Reply } from "./reply.js";
import { classify, route, type RouteContext } from "./router.js";
import { Storage } from "./storage.js";

/** Options of `startInfluxDB3Server`. */
export interface InfluxDB3ServerOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** When set, every request needs it (Bearer/Token/Basic, or `?p=` on v1), else 401. */
  token?: string;
  /** Body limit on wire and after gunzip. @default 10485760 (10 MiB, as InfluxDB 3) */
  maxRequestBytes?: number;
  /** Answer (and store) every write only after this delay, modelling the WAL flush. @default 0 */
  writeDelayMs?: number;
}

/** One request as the server received it, body decoded (gunzipped) as text. */
export interface ReceivedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A running test server that answers like InfluxDB 3. */
export interface InfluxDB3TestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Points stored in `db` (optionally one table), in the order they were first written. */
  points(db: string, table?: string): StoredPoint[];
  /** Every request received, in arrival order (faulted ones included). */
  requests: ReceivedRequest[];
  /** Switches for faults, flippable while running. */
  faults: FaultSwitches;
  /** Forget data, requests and faults. */
  reset(): void;
  /** Stop the server and destroy every open socket; safe to call twice. */
  close(): Promise<void>;
}

/** The default body limit, InfluxDB 3's `--max-http-request-size`. */
export const DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** The version `/ping` reports. */
export const SERVER_VERSION = "3.10.0";

/** Starts an in-memory server on 127.0.0.1 that answers like InfluxDB 3 Core on the endpoints edr uses. */
export async function startInfluxDB3Server(
  options: InfluxDB3ServerOptions = {},
): Promise<InfluxDB3TestServer> {
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const token = options.token;
  const storage = new Storage();
  const faultState = new FaultState();
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  const ctx: RouteContext = {
    storage,
    writeDelayMs: options.writeDelayMs ?? 0,
    version: SERVER_VERSION,
    sleep,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    const { kind, v1 } = classify(url.pathname);
    const body = await readBody(req, maxBytes);
    const request = received(method, url, req.headers, body.ok ? body.bytes : body.raw);
    requests.push(request);
    const fault = faultState.take(kind, request);
    const delayMs = faultState.delayFor(kind) + (fault.kind === "delay" ? fault.ms : 0);
    if (delayMs > 0) await sleep(delayMs);
    if (closed) return;
    switch (fault.kind) {
      case "stall":
        return;
      case "drop":
        req.socket.destroy();
        return;
      case "fail":
        send(res, fault);
        return;
      case "cut":
      case "delay":
      case "answerLate":
      case "none":
        break;
    }
    if (!body.ok) {
      send(res, bodyErrorReply(body.error, url.pathname === "/api/v2/write"));
      return;
    }
    if (token !== undefined) {
      const auth = checkAuth(req, url.searchParams, token, v1);
      if (auth === "unauthenticated") {
        send(res, {
          status: 401,
          headers: { "content-type": "application/json" },
          body: UNAUTHENTICATED_BODY,
        });
        return;
      }
      if (auth === "malformed") {
        send(res, {
          status: 400,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: "authorization header was malformed" }),
        });
        return;
      }
    }
    const reply = await route(ctx, method, url.pathname, url.searchParams, req.headers, body.bytes);
    if (closed) return;
    if (fault.kind === "answerLate") await sleep(fault.ms);
    if (closed) return;
    if (fault.kind === "cut") sendCut(res, reply, fault.afterBytes);
    else send(res, reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !closed) {
        send(res, {
          status: 500,
          headers: { "content-type": "text/plain" },
          body: `internal error: ${String(error)}`,
        });
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  await listen(options.port ?? 0);
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new TestServerError("NO_ADDRESS", "the server has no TCP address");
  const port = address.port;

  let closing: Promise<void> | undefined;
  const faults: FaultSwitches = {
    failNext: (n, o) => faultState.failNext(n, o),
    failAll: (o) => faultState.failAll(o),
    failFraction: (f, o, seed) => faultState.failFraction(f, o, seed),
    delay: (ms, on) => faultState.delay(ms, on),
    dropNextConnection: (n, on) => faultState.dropNextConnection(n, on),
    stall: (n, on) => faultState.stall(n, on),
    cutNextResponse: (n, o) => faultState.cutNextResponse(n, o),
    perRequest: (choose, on) => faultState.perRequest(choose, on),
    refuse: () => stopListening(),
    accept: async () => {
      if (closed) throw new TestServerError("CLOSED", "accept(): the server is closed");
      if (!server.listening) await listen(port);
    },
    clear: () => faultState.clear(),
  };

  return {
    url: `http://127.0.0.1:${port}`,
    points: (db, table) => storage.points(db, table).map(copyPoint),
    requests,
    faults,
    reset: () => {
      storage.clear();
      requests.length = 0;
      faultState.clear();
    },
    close: () => {
      closing ??= (async () => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        await stopListening();
        for (const socket of sockets) socket.destroy();
      })();
      return closing;
    },
  };
}

/**
 * The record of a request. Its body is decoded when first read: most are never read, and decoding every
 * 5 MB write would cost the write path as much as parsing it. The bytes are the ones the write stores, so
 * they are kept once.
 */
function received(method: string, url: URL, headers: IncomingHttpHeaders, bytes: Buffer): ReceivedRequest {
  let text: string | undefined;
  return {
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    get body() {
      return (text ??= bytes.toString("utf8"));
    },
  };
}

/** A copy a test may change freely (structuredClone is ten times slower on 100k points). */
function copyPoint(p: StoredPoint): StoredPoint {
  const fields: Record<string, StoredField> = {};
  for (const [k, v] of Object.entries(p.fields)) setName(fields, k, { ...v });
  // A spread defines properties (a `__proto__` tag stays a tag); only assignment needs setName.
  return { measurement: p.measurement, tags: { ...p.tags }, fields, timeNs: p.timeNs };
}

/**
 * Sends the status, headers and the first `afterBytes` bytes of the body (chunked, so the client sees a stream
 * that ends early), then destroys the socket; with `afterBytes` undefined, destroys it before any answer.
 */
function sendCut(res: ServerResponse, reply: Reply, afterBytes: number | undefined): void {
  if (afterBytes === undefined) {
    res.socket?.destroy();
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, "transfer-encoding": "chunked" });
  const part = Buffer.from(reply.body).subarray(0, afterBytes);
  if (part.length > 0) res.write(part);
  else res.flushHeaders();
  // end(), not destroy(): what was written goes out first, then the stream stops short of its last chunk.
  res.socket?.end();
}

function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}
