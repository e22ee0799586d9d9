import { constants, deflateRawSync, gunzip, gzip, inflateRawSync } from "node:zlib";
import { deflateSync as fflateDeflate, inflateSync as fflateInflate } from "fflate";

/**
 * Raw deflate compression used for the body of each gzip member. The queue writes the gzip header and
 * trailer (CRC-32, length) itself, so a codec only has to turn bytes into a raw deflate stream and back.
 */
export interface Codec {
  /** Shown in stats and benchmarks. */
  readonly name: string;
  /** Compresses `data` into one complete raw deflate stream. */
  deflateRaw(data: Uint8Array): Uint8Array;
  /**
   * Inflates one complete raw deflate stream; `size` is the expected output length (from ISIZE). The
   * result is used before the next call, so it may be a view of a buffer the codec reuses.
   */
  inflateRaw(data: Uint8Array, size: number): Uint8Array;
}

/** Which built-in codec to use, or a codec of your own. */
export type CodecOption = "zlib" | "fflate" | Codec;

/** Deflate level 1: on queue lines it compresses ~3x faster than level 6 for ~12% more bytes. */
export const DEFAULT_GZIP_LEVEL = 1;

/**
 * What the built-in zlib codec does besides {@link Codec}: the same work on libuv's thread pool, so that the
 * main thread is free for the caller's work (reading the source, sending) while a member is compressed
 * or inflated. Internal: a codec of your own runs on the main thread.
 */
export interface OffThreadCodec {
  /**
   * Compresses `raw` as one gzip member on the thread pool and returns its raw deflate body and the CRC-32
   * of `raw` (zlib computes it there too). `raw` must not change until the promise settles.
   */
  compress(raw: Uint8Array): Promise<{ body: Uint8Array; crc: number }>;
  /**
   * Inflates one complete gzip member (header, body, trailer) on the thread pool, checking its CRC-32 and
   * length; `size` is the expected output length. Rejects when the member is torn or corrupt (the caller
   * then decodes it on the main thread to name the reason). `member` must not change until it settles.
   */
  inflateMember(member: Uint8Array, size: number): Promise<Uint8Array>;
}

const offThread = new WeakMap<Codec, OffThreadCodec>();

/** The codec's thread-pool twin, for the built-in zlib codec; undefined for any other codec. */
export function offThreadOf(codec: Codec): OffThreadCodec | undefined {
  return offThread.get(codec);
}

/** node:zlib (native zlib, the default on Node: several times faster than fflate here, see the README). */
export function createZlibCodec(level: number = DEFAULT_GZIP_LEVEL): Codec {
  const deflateOptions = { level, strategy: constants.Z_DEFAULT_STRATEGY };
  const codec: Codec = {
    name: "zlib",
    deflateRaw: (data) => deflateRawSync(data, deflateOptions),
    // One output chunk of the expected size: node:zlib otherwise fills 16 KiB chunks and then copies them
    // into one buffer, which doubles the garbage a drain leaves for the collector (and peak RSS).
    inflateRaw: (data, size) =>
      inflateRawSync(data, { chunkSize: Math.max(size, 64), maxOutputLength: Math.max(size, 64) }),
  };
  offThread.set(codec, {
    compress: (raw) =>
      new Promise((resolve, reject) => {
        // One output chunk of a quarter of the input: queue lines compress 5-8x, so zlib usually finishes
        // in one trip to the thread pool (node:zlib's 16 KiB chunks come back to the main thread a dozen
        // times per 10,000 lines; a chunk the size of the input costs more to allocate than it saves).
        const options = { ...deflateOptions, chunkSize: (raw.length >> 2) + 1024 };
        gzip(raw, options, (error, member) => {
          if (error) return reject(error);
          // zlib writes a plain 10-byte header (no name, no extra field) and an 8-byte trailer, CRC-32 first.
          if (member[0] !== 0x1f || member[1] !== 0x8b || member[3] !== 0 || member.length < 18) {
            return reject(new Error("zlib wrote an unexpected gzip header"));
          }
          resolve({
            body: member.subarray(10, member.length - 8),
            crc: member.readUInt32LE(member.length - 8),
          });
        });
      }),
    inflateMember: (member, size) =>
      new Promise((resolve, reject) => {
        // Room for the whole output in one chunk, and a little over, so zlib finishes in one pass.
        const options = { chunkSize: size + 64, maxOutputLength: size + 64 };
        gunzip(member, options, (error, raw) => (error ? reject(error) : resolve(raw)));
      }),
  });
  return codec;
}

/** fflate (pure JavaScript, no native code). */
export function createFflateCodec(level: number = DEFAULT_GZIP_LEVEL): Codec {
  const clamped = Math.min(9, Math.max(0, level)) as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  // Inflating into one reused buffer leaves no garbage per member (a drain inflates thousands).
  let scratch = new Uint8Array(0);
  return {
    name: "fflate",
    deflateRaw: (data) => fflateDeflate(data, { level: clamped }),
    inflateRaw: (data, size) => {
      if (scratch.length < size) scratch = new Uint8Array(Math.max(size, 2 * scratch.length));
      return fflateInflate(data, { out: scratch.subarray(0, size) });
    },
  };
}

/** Turns the `codec` option into a codec. */
export function resolveCodec(option: CodecOption | undefined): Codec {
  if (option === undefined || option === "zlib") return createZlibCodec();
  if (option === "fflate") return createFflateCodec();
  return option;
}
