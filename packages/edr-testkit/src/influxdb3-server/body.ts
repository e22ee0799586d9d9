import type { IncomingMessage } from "node:http";
import { gunzipSync } from "node:zlib";
import { json, text, type Reply } from "./reply.js";

/** Why a body could not be read: the status and message to answer with. */
export interface BodyError {
  status: 400 | 413 | 415;
  message: string;
}

/** What reading a request body gave: the decoded bytes, or the error to answer with (and the raw bytes). */
export type BodyResult = { ok: true; bytes: Buffer } | { ok: false; error: BodyError; raw: Buffer };

/** The exact text InfluxDB 3 answers with when a body is over `--max-http-request-size`. */
export function tooLargeText(maxBytes: number): string {
  return `max request size (${maxBytes} bytes) exceeded`;
}

/**
 * Reads the whole body, counting wire bytes against `maxBytes` (draining the rest once over, so the client
 * sees the 413 instead of a reset), then gunzips when `Content-Encoding: gzip`, limited to `maxBytes` again.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes)
    return { ok: false, error: { status: 413, message: tooLargeText(maxBytes) }, raw: Buffer.alloc(0) };
  const raw = Buffer.concat(chunks);
  const encoding = req.headers["content-encoding"];
  if (encoding === undefined || encoding === "identity") return { ok: true, bytes: raw };
  if (encoding !== "gzip") {
    const message = `unsupported content encoding "${encoding}": only gzip or identity`;
    return { ok: false, error: { status: 415, message }, raw };
  }
  try {
    // gunzipSync reads concatenated gzip members, as InfluxDB 3 does.
    return { ok: true, bytes: gunzipSync(raw, { maxOutputLength: maxBytes }) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      return { ok: false, error: { status: 413, message: tooLargeText(maxBytes) }, raw };
    }
    return {
      ok: false,
      error: { status: 400, message: `error decoding gzip body: ${(error as Error).message}` },
      raw,
    };
  }
}

const V2_CODES: Record<BodyError["status"], string> = {
  400: "invalid",
  413: "request too large",
  415: "invalid",
};

/**
 * The answer to a body error: v2 `{"code","message"}` on `/api/v2/write`; elsewhere the 413 is the bare text
 * and the others `{"error"}`.
 */
export function bodyErrorReply(error: BodyError, v2: boolean): Reply {
  if (v2) return json(error.status, { code: V2_CODES[error.status], message: error.message });
  return error.status === 413 ? text(413, error.message) : json(error.status, { error: error.message });
}
