import { crc32, inflateRawSync } from "node:zlib";
import type { Codec } from "./codec.js";

/**
 * One gzip member (RFC 1952) per append. Ours carry an FEXTRA subfield "EQ" with the deflate body's
 * length, the entry count and the append time in ms, so the queue can walk from member to member by
 * reading headers only. gzip, zcat and Python's gzip module skip FEXTRA, so the files stay plain gzip.
 */
export const OUR_HEADER_BYTES = 32;
export const TRAILER_BYTES = 8;
const XLEN = 20;
const SUBFIELD_LEN = 16;
const FLG_FHCRC = 2;
const FLG_FEXTRA = 4;
const FLG_FNAME = 8;
const FLG_FCOMMENT = 16;

/** A parsed member header. `bodyLength` is known for our members, undefined for foreign ones. */
export interface MemberHeader {
  readonly headerLength: number;
  readonly mtimeMs: number;
  readonly bodyLength: number | undefined;
  readonly count: number | undefined;
}

/** Builds the header of one of our members; the caller writes header, body and trailer back to back. */
export function encodeHeader(bodyLength: number, count: number, timeMs: number): Buffer {
  const h = Buffer.allocUnsafe(OUR_HEADER_BYTES);
  h[0] = 0x1f;
  h[1] = 0x8b;
  h[2] = 8;
  h[3] = FLG_FEXTRA;
  h.writeUInt32LE(Math.floor(timeMs / 1000) >>> 0, 4);
  h[8] = 0;
  h[9] = 255;
  h.writeUInt16LE(XLEN, 10);
  h[12] = 0x45; // 'E'
  h[13] = 0x51; // 'Q'
  h.writeUInt16LE(SUBFIELD_LEN, 14);
  h.writeUInt32LE(bodyLength, 16);
  h.writeUInt32LE(count, 20);
  h.writeDoubleLE(timeMs, 24);
  return h;
}

/** Builds the 8-byte trailer: CRC-32 and length (mod 2^32) of the uncompressed bytes. */
export function encodeTrailer(raw: Uint8Array): Buffer {
  return trailerOf(crc32(raw), raw.length);
}

/** The 8-byte trailer from a CRC-32 already computed and the uncompressed length. */
export function trailerOf(crc: number, length: number): Buffer {
  const t = Buffer.allocUnsafe(TRAILER_BYTES);
  t.writeUInt32LE(crc >>> 0, 0);
  t.writeUInt32LE(length >>> 0, 4);
  return t;
}

/**
 * Parses a member header at `pos`. Returns "short" when `buf` ends before the header does (read more or,
 * at end of file, a torn tail) and "bad" when the bytes are not a gzip member header.
 */
export function parseHeader(buf: Uint8Array, pos: number): MemberHeader | "short" | "bad" {
  const avail = buf.length - pos;
  if (avail < 10) return avail > 0 && buf[pos] !== 0x1f ? "bad" : "short";
  if (buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b || buf[pos + 2] !== 8) return "bad";
  const flg = buf[pos + 3]!;
  if (flg & 0xe0) return "bad";
  const mtimeMs = readU32(buf, pos + 4) * 1000;
  let p = pos + 10;
  let bodyLength: number | undefined;
  let count: number | undefined;
  let exactMs = mtimeMs;
  if (flg & FLG_FEXTRA) {
    if (p + 2 > buf.length) return "short";
    const xlen = buf[p]! | (buf[p + 1]! << 8);
    p += 2;
    if (p + xlen > buf.length) return "short";
    const end = p + xlen;
    // Subfields: SI1 SI2 LEN(2) data; other writers' subfields are skipped.
    let s = p;
    while (s + 4 <= end) {
      const len = buf[s + 2]! | (buf[s + 3]! << 8);
      if (s + 4 + len > end) return "bad";
      if (buf[s] === 0x45 && buf[s + 1] === 0x51 && len === SUBFIELD_LEN) {
        bodyLength = readU32(buf, s + 4);
        count = readU32(buf, s + 8);
        exactMs = Buffer.from(buf.buffer, buf.byteOffset + s + 12, 8).readDoubleLE(0);
      }
      s += 4 + len;
    }
    p = end;
  }
  for (const flag of [FLG_FNAME, FLG_FCOMMENT]) {
    if (flg & flag) {
      const zero = buf.indexOf(0, p);
      if (zero < 0) return "short";
      p = zero + 1;
    }
  }
  if (flg & FLG_FHCRC) p += 2;
  if (p > buf.length) return "short";
  return { headerLength: p - pos, mtimeMs: exactMs, bodyLength, count };
}

export function readU32(buf: Uint8Array, p: number): number {
  return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16)) + buf[p + 3]! * 0x1000000;
}

/** The result of decoding one member: its uncompressed bytes and where the next member starts. */
export interface DecodedMember {
  readonly raw: Uint8Array;
  readonly memberLength: number;
}

/**
 * Inflates and verifies one member starting at `pos` (CRC-32 and ISIZE from the trailer). For our members
 * `buf` must hold the whole member; for foreign ones (no length in the header) it must hold everything
 * to the end of the file, and node:zlib finds where the deflate stream ends. Returns a reason string when
 * the member is torn or corrupt.
 */
export function decodeMember(
  buf: Uint8Array,
  pos: number,
  header: MemberHeader,
  codec: Codec,
): DecodedMember | string {
  const bodyStart = pos + header.headerLength;
  let raw: Uint8Array;
  let bodyLength: number;
  try {
    if (header.bodyLength !== undefined) {
      bodyLength = header.bodyLength;
      const end = bodyStart + bodyLength + TRAILER_BYTES;
      if (end > buf.length) return "member ends past end of file (torn write)";
      const size = readU32(buf, end - 4);
      raw = codec.inflateRaw(buf.subarray(bodyStart, bodyStart + bodyLength), size);
    } else {
      const result = inflateRawSync(buf.subarray(bodyStart), { info: true }) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      raw = result.buffer;
      bodyLength = result.engine.bytesWritten;
    }
  } catch (error) {
    return `deflate data is invalid or cut short (${(error as Error).message})`;
  }
  const trailer = bodyStart + bodyLength;
  if (trailer + TRAILER_BYTES > buf.length) return "member trailer missing (torn write)";
  if (crc32(raw) >>> 0 !== readU32(buf, trailer)) return "CRC-32 mismatch";
  if (raw.length >>> 0 !== readU32(buf, trailer + 4)) return "ISIZE mismatch";
  return { raw, memberLength: trailer + TRAILER_BYTES - pos };
}
