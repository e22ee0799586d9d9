// The answers edr itself gives, in the shape InfluxDB gives them on that path, so a client's error handling
// reads them like the server's own: `{"code","message"}` under /api/v2/, `{"error"}` elsewhere, and the
// 413 as InfluxDB 3's bare text (the testkit's bodies, from docs/influxdb3-wire.md).
import type { ServerResponse } from "node:http";

/** An answer to send: status, headers (lower-case names) and body. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const V2_CODES: Readonly<Record<number, string>> = {
  400: "invalid",
  401: "unauthorized",
  403: "forbidden",
  404: "not found",
  405: "method not allowed",
  413: "request too large",
  // InfluxDB 3 has no v2 code of its own for it; the testkit answers "invalid".
  415: "invalid",
  500: "internal error",
  502: "unavailable",
  503: "unavailable",
};

/** Whether answers on `pathname` use InfluxDB 2's `{"code","message"}` bodies. */
export function usesV2Errors(pathname: string): boolean {
  return pathname.startsWith("/api/v2/");
}

/** A JSON error as InfluxDB writes it on that path; `retryAfterSeconds` adds a `Retry-After` header. */
export function errorReply(v2: boolean, status: number, message: string, retryAfterSeconds?: number): Reply {
  const value = v2 ? { code: V2_CODES[status] ?? "internal error", message } : { error: message };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (retryAfterSeconds !== undefined)
    headers["retry-after"] = String(Math.max(0, Math.ceil(retryAfterSeconds)));
  return { status, headers, body: JSON.stringify(value) };
}

/** The exact text InfluxDB 3 answers a body over `--max-http-request-size` with. */
export function tooLargeText(maxBytes: number): string {
  return `max request size (${maxBytes} bytes) exceeded`;
}

/** 413 for a body over the limit: bare text as InfluxDB 3 sends it, `{"code","message"}` on v2. */
export function tooLargeReply(v2: boolean, maxBytes: number): Reply {
  if (v2) return errorReply(true, 413, tooLargeText(maxBytes));
  return {
    status: 413,
    headers: { "content-type": "text/plain; charset=utf-8" },
    body: tooLargeText(maxBytes),
  };
}

/** Sends `reply`; `close` asks the client to close the connection (the server is shutting down). */
export function sendReply(res: ServerResponse, reply: Reply, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...reply.headers };
  headers["content-length"] = Buffer.byteLength(reply.body);
  if (close) headers.connection = "close";
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}
