import * as http from "node:http";
import * as https from "node:https";
import { HttpError } from "@influxdata/influxdb3-client";
import type { CommunicationObserver, SendOptions, Transport } from "@influxdata/influxdb3-client";
import { encodeBody } from "./body.js";
import type { EncodedBody } from "./body.js";
import type { ResolvedSinkOptions } from "./options.js";
import type { TransportFailure, WriteApi } from "./retry-policy.js";

/** Largest error body kept: a partial-write listing of many lines is long, but not unbounded. */
const MAX_ERROR_BODY_CHARS = 32 * 1024 * 1024;

/**
 * A remote answers quickly when each of its last QUICK_ANSWERS requests was answered within
 * QUICK_ANSWER_MS. InfluxDB 3 answers a write only after its write-ahead log is flushed (~1 s), and a
 * request that happens to arrive just before a flush is answered at once, so one quick answer says little.
 */
const QUICK_ANSWERS = 8;
const QUICK_ANSWER_MS = 100;

/** A request that got no HTTP answer: why, and whether the remote may still have stored it. */
export class TransportFailureError extends Error {
  override readonly name = "TransportFailureError";
  constructor(
    readonly failure: TransportFailure,
    message: string,
    readonly mayBeStored: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the transport needs of the sink's resolved options, plus its socket bound; built once per sink. */
export type SinkTransportOptions = Pick<
  ResolvedSinkOptions,
  "baseUrl" | "token" | "database" | "writeApi" | "verifySsl" | "ca" | "timeoutMs" | "gzipLevel"
> & { maxSockets: number };

/** The request path and query of a write on each endpoint, database encoded. */
export function writePathFor(writeApi: WriteApi, database: string): string {
  const db = encodeURIComponent(database);
  switch (writeApi) {
    case "v3":
      return `/api/v3/write_lp?db=${db}&precision=nanosecond&accept_partial=true`;
    case "v2":
      return `/api/v2/write?bucket=${db}&precision=ns`;
    case "v1":
      return `/write?db=${db}&precision=n`;
  }
}

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "EPROTO",
]);

function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? "";
  return TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_");
}

/**
 * The `transport` handed to `@influxdata/influxdb3-client`: the client keeps building the body and
 * turning answers into `HttpError`s, this sends it where 2.1.0 cannot (`/api/v3/write_lp` with
 * `accept_partial=true`, `/write` for v1) over one keep-alive agent, with `Bearer` auth, gzip at a chosen
 * level, a deadline per request, and TLS settings. The client only ever calls `send` for writes.
 * The sink encodes each body into a Buffer itself and hands the client a short key instead of the text
 * (see `register`), so a 6 MiB body never exists as a string.
 */
export class SinkTransport implements Transport {
  readonly agent: http.Agent;
  private readonly requestFn: typeof http.request;
  private readonly writePath: string;
  private readonly contextPath: string;
  private readonly baseHeaders: Record<string, string>;
  private readonly prepared = new Map<string, Promise<EncodedBody>>();
  /** Milliseconds from each of the last requests to its answer (Infinity: none came), oldest overwritten. */
  private readonly roundTrips = new Float64Array(QUICK_ANSWERS).fill(Infinity);
  private answers = 0;

  constructor(private readonly options: SinkTransportOptions) {
    const { baseUrl } = options;
    const secure = baseUrl.protocol === "https:";
    this.agent = secure
      ? new https.Agent({
          keepAlive: true,
          maxSockets: options.maxSockets,
          rejectUnauthorized: options.verifySsl,
          ...(options.ca ? { ca: options.ca } : {}),
        })
      : new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.requestFn = secure ? https.request : http.request;
    this.contextPath = baseUrl.pathname.replace(/\/+$/, "");
    this.writePath = this.contextPath + writePathFor(options.writeApi, options.database);
    this.baseHeaders = { "user-agent": "edr-sink", accept: "application/json" };
    if (options.token !== undefined) this.baseHeaders.authorization = `Bearer ${options.token}`;
  }

  send(
    path: string,
    requestBody: string,
    options: SendOptions,
    callbacks?: Partial<CommunicationObserver<Uint8Array>>,
  ): void {
    // The client asks for `/api/v2/write?bucket=…`; the sink decides which endpoint really gets it.
    const target = path.startsWith("/api/v2/write") ? this.writePath : this.contextPath + path;
    const headers: Record<string, string | number> = { ...this.baseHeaders, ...options.headers };
    const ready = this.prepared.get(requestBody);
    if (ready !== undefined) {
      ready.then(
        (body) => {
          if (body.gzipped) headers["content-encoding"] = "gzip";
          this.post(target, body.bytes, headers, options.method, callbacks);
        },
        (error: Error) => callbacks?.error?.(error),
      );
      return;
    }
    const threshold = options.gzipThreshold ?? Infinity;
    encodeBody(Buffer.from(requestBody, "utf8"), {
      level: this.options.gzipLevel,
      thresholdBytes: threshold,
    }).then(
      (body) => {
        if (body.gzipped) headers["content-encoding"] = "gzip";
        this.post(target, body.bytes, headers, options.method, callbacks);
      },
      (error: Error) => callbacks?.error?.(error),
    );
  }

  /**
   * Registers a body being encoded under `key`, so that it is ready when its request leaves. `send` with
   * `key` as the body sends it, as often as retries need, until `discard(key)`.
   */
  register(key: string, body: Promise<EncodedBody>): void {
    // A body never sent (its lane was held back) must not leave an unhandled rejection behind.
    body.catch(() => undefined);
    this.prepared.set(key, body);
  }

  /** Forgets a prepared body. */
  discard(key: string): void {
    this.prepared.delete(key);
  }

  /** True when each of the last 8 requests was answered within 100 ms (false for a new sink). */
  get answersQuickly(): boolean {
    return this.roundTrips.every((ms) => ms < QUICK_ANSWER_MS);
  }

  private recordRoundTrip(ms: number): void {
    this.roundTrips[this.answers++ % QUICK_ANSWERS] = ms;
  }

  /** Bodies prepared and not yet discarded (each holds its encoded bytes): 0 whenever the sink is idle. */
  get preparedBodies(): number {
    return this.prepared.size;
  }

  private post(
    path: string,
    body: Buffer,
    headers: Record<string, string | number>,
    method: string,
    callbacks: Partial<CommunicationObserver<Uint8Array>> | undefined,
  ): void {
    headers["content-length"] = body.length;
    const { baseUrl, timeoutMs } = this.options;
    let settled = false;
    let sent = false;
    const started = performance.now();
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error instanceof TransportFailureError) this.recordRoundTrip(Infinity);
      callbacks?.error?.(error);
    };
    const req = this.requestFn(
      {
        protocol: baseUrl.protocol,
        // URL keeps IPv6 addresses in brackets; http.request wants them bare.
        hostname: baseUrl.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: baseUrl.port,
        path,
        method,
        headers,
        agent: this.agent,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        this.recordRoundTrip(performance.now() - started);
        callbacks?.responseStarted?.(res.headers, status);
        if (status >= 200 && status < 300) {
          res.resume();
          res.on("end", () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            callbacks?.complete?.();
          });
        } else {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (text.length < MAX_ERROR_BODY_CHARS) text += chunk;
          });
          res.on("end", () => {
            const contentType = res.headers["content-type"];
            fail(new HttpError(status, res.statusMessage, text, contentType ?? null, res.headers));
          });
        }
        res.on("error", (error) => fail(this.wrap(error, sent)));
      },
    );
    const timer = setTimeout(() => {
      fail(
        new TransportFailureError(
          "timeout",
          `timed out after ${timeoutMs} ms (the remote may have stored it)`,
          true,
        ),
      );
      req.destroy();
    }, timeoutMs);
    req.on("finish", () => {
      sent = true;
    });
    req.on("error", (error) => fail(this.wrap(error, sent)));
    req.end(body);
  }

  private wrap(error: NodeJS.ErrnoException, sent: boolean): TransportFailureError {
    const code = error.code ?? error.name;
    if (isTlsError(error)) {
      return new TransportFailureError("tls", `TLS: ${error.message} (${code})`, false, { cause: error });
    }
    const note = sent ? " after the request was sent (the remote may have stored it)" : "";
    return new TransportFailureError("connection", `${error.message} (${code})${note}`, sent, {
      cause: error,
    });
  }

  request(): Promise<never> {
    return Promise.reject(new Error("[edr-sink] the sink's transport carries writes only"));
  }

  iterate(): AsyncIterableIterator<Uint8Array> {
    throw new Error("[edr-sink] the sink's transport carries writes only");
  }

  /** Closes idle keep-alive sockets; in-flight requests finish first. */
  close(): void {
    this.prepared.clear();
    this.agent.destroy();
  }
}
