// Reading a write's body as InfluxDB 3 does: the limit on the wire bytes and again after gunzip, gzip with
// concatenated members, any other encoding refused. Memory per request stays within the limit: bytes past
// it are counted and dropped, never kept.
import type { IncomingMessage } from "node:http";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { tooLargeText } from "./error-replies.js";

const gunzipAsync = promisify(gunzip);

/** A body as it came (`wire`, to forward unchanged) and as text bytes (`decoded`, to read lines from). */
export interface WriteBody {
  wire: Buffer;
  decoded: Buffer;
  /** The request's `Content-Encoding`, when it had one. */
  encoding: string | undefined;
}

/** Why a body cannot be taken: the status and message to answer with. */
export interface BodyRefusal {
  status: 400 | 413 | 415;
  message: string;
}

/**
 * Reads the whole body, counting wire bytes against `maxBytes` (reading on past it without keeping
 * anything, so the client gets the 413 rather than a reset), then gunzips when `Content-Encoding: gzip`,
 * limited to `maxBytes` again. Gunzip runs on libuv's pool: a large body does not hold up other requests.
 */
export async function readWriteBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<WriteBody | BodyRefusal> {
  const wire = await readLimited(req, maxBytes);
  if (wire === undefined) return { status: 413, message: tooLargeText(maxBytes) };
  return decodeBody(wire, req.headers["content-encoding"], maxBytes);
}

/** Gunzips `wire` when `encoding` is gzip; `identity` or none leave it as it is; others are refused (415). */
export async function decodeBody(
  wire: Buffer,
  encoding: string | undefined,
  maxBytes: number,
): Promise<WriteBody | BodyRefusal> {
  if (encoding === undefined || encoding === "identity") return { wire, decoded: wire, encoding };
  if (encoding !== "gzip") {
    return { status: 415, message: `unsupported content encoding "${encoding}": only gzip or identity` };
  }
  try {
    // zlib reads concatenated gzip members, as InfluxDB 3 does.
    const decoded = await gunzipAsync(wire, {
      maxOutputLength: maxBytes,
      chunkSize: outputChunkBytes(wire, maxBytes),
    });
    return { wire, decoded, encoding };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      return { status: 413, message: tooLargeText(maxBytes) };
    }
    return { status: 400, message: `error decoding gzip body: ${(error as Error).message}` };
  }
}

/**
 * One output chunk as large as the body will be, as far as its last member's trailer (ISIZE) says: zlib hands
 * each full chunk back to the main thread and copies them together at the end, so a 1 MiB body inflated in
 * node's default 16 KiB chunks costs 64 trips and a copy. A wrong guess (several members, a lying trailer)
 * only costs those trips again; `maxOutputLength` still bounds the output.
 */
function outputChunkBytes(wire: Buffer, maxBytes: number): number {
  const isize = wire.length >= 18 ? wire.readUInt32LE(wire.length - 4) : 0;
  return Math.max(DEFAULT_CHUNK_BYTES, Math.min(isize + 64, maxBytes + 64));
}

const DEFAULT_CHUNK_BYTES = 16 * 1024;

/** The body's bytes, or undefined when there were more than `maxBytes` (read to the end, not kept). */
async function readLimited(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"]);
  // With a length declared within the limit, one buffer filled in place saves Buffer.concat's copy.
  if (Number.isInteger(declared) && declared >= 0 && declared <= maxBytes) {
    const into = Buffer.allocUnsafe(declared);
    let at = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      // Node ends the request at Content-Length: more than declared cannot arrive.
      at += chunk.copy(into, at);
    }
    return at === declared ? into : into.subarray(0, at);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
    else chunks.length = 0;
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks, size);
}

/** Whether `body` is a refusal rather than a body. */
export function isRefusal(body: WriteBody | BodyRefusal): body is BodyRefusal {
  return "status" in body;
}
