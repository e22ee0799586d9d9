import * as http from "node:http";
import * as https from "node:https";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { HttpError } from "@influxdata/influxdb3-client";
import type { CommunicationObserver, SendOptions, Transport } from "@influxdata/influxdb3-client";
import type { ResolvedSinkOptions } from "./options.js";
import type { TransportFailure, WriteApi } from "./retry-policy.js";

/** Largest error body kept: a partial-write listing of many lines is long, but not unbounded. */
const MAX_ERROR_BODY_CHARS = 32 * 1024 * 1024;

const gzipAsync = promisify(gzip);
/**
 * Output buffer of one gzip call. zlib hands each full buffer back to the main thread before it goes
 * on, so the default 16 KiB made a 6 MiB body ~50 round trips, each waiting behind whatever the event
 * loop was doing; 1 MiB makes it one or two.
 */
const GZIP_CHUNK_BYTES = 1024 * 1024;

/** A body encoded ahead of its request. */
interface PreparedBody {
  bytes: Buffer;
  gzipped: boolean;
}

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
 * (see `prepare`), so a 6 MiB body never exists as a string.
 */
export class SinkTransport implements Transport {
  readonly agent: http.Agent;
  private readonly requestFn: typeof http.request;
  private readonly writePath: string;
  private readonly contextPath: string;
  private readonly baseHeaders: Record<string, string>;
  private readonly prepared = new Map<string, Promise<PreparedBody>>();

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
    const raw = Buffer.from(requestBody, "utf8");
    const threshold = options.gzipThreshold;
    if (threshold !== undefined && raw.length > threshold) {
      gzip(raw, { level: this.options.gzipLevel, chunkSize: GZIP_CHUNK_BYTES }, (error, zipped) => {
        if (error) {
          callbacks?.error?.(error);
          return;
        }
        headers["content-encoding"] = "gzip";
        this.post(target, zipped, headers, options.method, callbacks);
      });
      return;
    }
    this.post(target, raw, headers, options.method, callbacks);
  }

  /**
   * Registers an encoded body under `key`, gzipping it now (on libuv's threads) when it is over the
   * threshold, so that it is ready when its request leaves. `send` with `key` as the body sends it, as
   * often as retries need, until `discard(key)`.
   */
  prepare(key: string, raw: Buffer, gzipThresholdBytes: number): void {
    const ready =
      raw.length > gzipThresholdBytes
        ? gzipAsync(raw, { level: this.options.gzipLevel, chunkSize: GZIP_CHUNK_BYTES }).then((bytes) => ({
            bytes,
            gzipped: true,
          }))
        : Promise.resolve({ bytes: raw, gzipped: false });
    // A body never sent (its lane was held back) must not leave an unhandled rejection behind.
    ready.catch(() => undefined);
    this.prepared.set(key, ready);
  }

  /** Forgets a prepared body. */
  discard(key: string): void {
    this.prepared.delete(key);
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
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
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
