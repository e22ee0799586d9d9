import type { IncomingMessage } from "node:http";
import { gunzipSync } from "node:zlib";

/** What reading a request body gave: the decoded bytes, or the answer to send instead. */
export type BodyResult =
  { ok: true; bytes: Buffer } | { ok: false; status: number; contentType: string; body: string; raw: Buffer };

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
  let over = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) over = true;
    if (!over) chunks.push(chunk);
  }
  const raw = over ? Buffer.alloc(0) : Buffer.concat(chunks);
  if (over)
    return {
      ok: false,
      status: 413,
      contentType: "text/plain; charset=utf-8",
      body: tooLargeText(maxBytes),
      raw,
    };
  const encoding = req.headers["content-encoding"];
  if (encoding === undefined || encoding === "identity") return { ok: true, bytes: raw };
  if (encoding !== "gzip") {
    return {
      ok: false,
      status: 415,
      contentType: "application/json",
      body: JSON.stringify({ error: `unsupported content encoding "${encoding}": only gzip or identity` }),
      raw,
    };
  }
  try {
    // gunzipSync reads concatenated gzip members, as InfluxDB 3 does.
    return { ok: true, bytes: gunzipSync(raw, { maxOutputLength: maxBytes }) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      return {
        ok: false,
        status: 413,
        contentType: "text/plain; charset=utf-8",
        body: tooLargeText(maxBytes),
        raw,
      };
    }
    return {
      ok: false,
      status: 400,
      contentType: "application/json",
      body: JSON.stringify({ error: `error decoding gzip body: ${(error as Error).message}` }),
      raw,
    };
  }
}
