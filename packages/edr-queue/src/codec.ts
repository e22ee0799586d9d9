import { deflateRawSync, inflateRawSync, constants } from "node:zlib";
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

/** node:zlib (native zlib, the default on Node: several times faster than fflate here, see the README). */
export function createZlibCodec(level: number = DEFAULT_GZIP_LEVEL): Codec {
  const deflateOptions = { level, strategy: constants.Z_DEFAULT_STRATEGY };
  return {
    name: "zlib",
    deflateRaw: (data) => deflateRawSync(data, deflateOptions),
    // One output chunk of the expected size: node:zlib otherwise fills 16 KiB chunks and then copies them
    // into one buffer, which doubles the garbage a drain leaves for the collector (and peak RSS).
    inflateRaw: (data, size) =>
      inflateRawSync(data, { chunkSize: Math.max(size, 64), maxOutputLength: Math.max(size, 64) }),
  };
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
