import { createGzip, gzip } from "node:zlib";
import type { Gzip } from "node:zlib";

/** A request body ready to send, and whether it is gzipped. */
export interface EncodedBody {
  readonly bytes: Buffer;
  readonly gzipped: boolean;
}

/** How bodies are compressed: gzip at `level` when the raw body is over `thresholdBytes`. */
export interface BodyCompression {
  readonly level: number;
  readonly thresholdBytes: number;
}

/**
 * Output buffer of one gzip call. zlib hands each full buffer back to the main thread before it goes
 * on, so the default 16 KiB made a 6 MiB body ~50 round trips, each waiting behind whatever the event
 * loop was doing; 1 MiB makes it one or two.
 */
const GZIP_CHUNK_BYTES = 1024 * 1024;
/**
 * Raw bytes a {@link BodyEncoder} gathers before handing them to gzip: large enough that a 6 MiB body
 * is a few dozen zlib writes, small enough that most of it is compressed before the batch is full.
 */
const RAW_CHUNK_BYTES = 256 * 1024;
/** The most UTF-8 bytes one UTF-16 code unit can take. */
const MAX_BYTES_PER_CHAR = 3;
const NEWLINE = 0x0a;

/** Gzips `raw` on libuv's threads when it is over the threshold; else sends it as it is. */
export function encodeBody(raw: Buffer, compression: BodyCompression): Promise<EncodedBody> {
  if (raw.length <= compression.thresholdBytes) return Promise.resolve({ bytes: raw, gzipped: false });
  return new Promise((resolve, reject) => {
    gzip(raw, { level: compression.level, chunkSize: GZIP_CHUNK_BYTES }, (error, bytes) =>
      error ? reject(error) : resolve({ bytes, gzipped: true }),
    );
  });
}

/**
 * Builds one request body while its lines are planned: each line is written as UTF-8 straight into a
 * chunk, and each full chunk goes to gzip on libuv's threads at once, so that when the batch is taken
 * most of its body is already compressed. Compressing a whole 6 MiB body only when the batch was taken
 * left the second core idle while lines were planned, then the request waited for all of it.
 */
export class BodyEncoder {
  /** Raw bytes written so far, a newline after every line (the last one is dropped by `finish`). */
  length = 0;
  private chunk: Buffer;
  private at = 0;
  /** Full chunks not handed to gzip (the body is not over the threshold yet). */
  private readonly raw: Buffer[] = [];
  private zip: Gzip | undefined;
  private readonly zipped: Buffer[] = [];
  private failure: Error | undefined;
  private finished: Promise<EncodedBody> | undefined;

  /** `chunkBytes` is the size of the raw chunks handed to gzip (small ones only in tests). */
  constructor(
    private readonly compression: BodyCompression,
    private readonly chunkBytes = RAW_CHUNK_BYTES,
  ) {
    this.chunk = Buffer.allocUnsafe(chunkBytes);
  }

  /** Writes `line` and a newline; returns their size in bytes. */
  append(line: string): number {
    if (this.chunk.length - this.at < line.length * MAX_BYTES_PER_CHAR + 1) this.nextChunk(line.length);
    const size = this.chunk.write(line, this.at, "utf8") + 1;
    this.at += size;
    this.chunk[this.at - 1] = NEWLINE;
    this.length += size;
    return size;
  }

  /** The body: gzipped when over the threshold. Call once every line is appended; later calls get the same. */
  finish(): Promise<EncodedBody> {
    this.finished ??= this.encode();
    return this.finished;
  }

  /** Drops the body unsent: frees the gzip stream. */
  discard(): void {
    this.zip?.destroy();
    this.zip = undefined;
    this.finished ??= Promise.reject(new Error("[edr-sink] a discarded body was sent"));
    this.finished.catch(() => undefined);
  }

  private nextChunk(chars: number): void {
    const full = this.chunk.subarray(0, this.at);
    this.chunk = Buffer.allocUnsafe(Math.max(this.chunkBytes, chars * MAX_BYTES_PER_CHAR + 1));
    this.at = 0;
    if (full.length === 0) return;
    if (this.zip === undefined && this.length > this.compression.thresholdBytes) this.startGzip();
    if (this.zip !== undefined) this.zip.write(full);
    else this.raw.push(full);
  }

  private startGzip(): void {
    const zip = createGzip({ level: this.compression.level, chunkSize: GZIP_CHUNK_BYTES });
    zip.on("data", (bytes: Buffer) => this.zipped.push(bytes));
    zip.on("error", (error: Error) => (this.failure ??= error));
    for (const chunk of this.raw.splice(0)) zip.write(chunk);
    this.zip = zip;
  }

  private encode(): Promise<EncodedBody> {
    // The newline after the last line is not part of the body.
    const last = this.chunk.subarray(0, Math.max(0, this.at - 1));
    const zip = this.zip;
    // A gzip error already emitted would never reach the listeners added below.
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (zip === undefined) {
      const raw = this.raw.length === 0 ? last : Buffer.concat([...this.raw, last]);
      return encodeBody(raw, this.compression);
    }
    return new Promise((resolve, reject) => {
      zip.on("end", () =>
        this.failure ? reject(this.failure) : resolve({ bytes: Buffer.concat(this.zipped), gzipped: true }),
      );
      zip.on("error", reject);
      zip.end(last);
    });
  }
}
