import { offThreadOf, type Codec, type OffThreadCodec } from "./codec.js";
import { decodeMember, parseHeader, readU32, type MemberHeader } from "./member.js";
import type { Segment } from "./segments.js";

const WINDOW_BYTES = 1 << 20;
const HEADER_WINDOW_BYTES = 4096;
/** Members that inflate to more than this are inflated on the main thread (one buffer of this size). */
const OFF_THREAD_MAX_BYTES = 64 * 1024 * 1024;

/** A member read from disk: its header and length, or why it could not be read. */
export type ReadMember =
  | { readonly ok: true; readonly header: MemberHeader; readonly raw: Uint8Array; readonly length: number }
  | {
      readonly ok: false;
      readonly reason: string;
      /** Known when the header is sound and the member ends inside the segment: it can be skipped. */
      readonly length: number | undefined;
      readonly header: MemberHeader | undefined;
    };

/**
 * Reads members through a window of up to 1 MiB, so that walking or draining many small members costs one
 * read per window rather than two per member. Bytes below a segment's `size` never change, so a window
 * stays valid until it is replaced.
 */
export class MemberReader {
  private winSeg: Segment | undefined;
  private winStart = 0;
  private win: Buffer = Buffer.alloc(0);
  private store: Buffer = Buffer.alloc(0);
  private readonly offThread: OffThreadCodec | undefined;

  constructor(private readonly codec: Codec) {
    this.offThread = offThreadOf(codec);
  }

  /** Bytes [offset, offset + length) of the segment, which must lie below `seg.size`. */
  async bytes(seg: Segment, offset: number, length: number, window = WINDOW_BYTES): Promise<Buffer> {
    if (
      this.winSeg === seg &&
      offset >= this.winStart &&
      offset + length <= this.winStart + this.win.length
    ) {
      return this.win.subarray(offset - this.winStart, offset - this.winStart + length);
    }
    const want = Math.min(Math.max(length, window), seg.size - offset);
    // One buffer, reused: callers consume a window before the next read (all reads run under the
    // queue's lock), and a fresh megabyte per window would only feed the garbage collector.
    if (this.store.length < want) this.store = Buffer.allocUnsafe(Math.max(want, WINDOW_BYTES));
    const buf = this.store;
    this.winSeg = undefined; // the old window's bytes are being overwritten
    let got = 0;
    while (got < want) {
      const { bytesRead } = await seg.fh.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.winSeg = seg;
    this.winStart = offset;
    this.win = buf.subarray(0, got);
    return this.win.subarray(0, Math.min(length, got));
  }

  /** Forgets the window (after a segment was truncated or closed). */
  reset(): void {
    this.winSeg = undefined;
    this.win = Buffer.alloc(0);
  }

  /** Parses the member header at `offset`; "short" means the segment ends inside it. */
  async header(seg: Segment, offset: number, window = WINDOW_BYTES): Promise<MemberHeader | "short" | "bad"> {
    let want = 64;
    for (;;) {
      const avail = seg.size - offset;
      const buf = await this.bytes(seg, offset, Math.min(want, avail), window);
      const h = parseHeader(buf, 0);
      if (h !== "short" || want >= avail) return h;
      want *= 16;
    }
  }

  /**
   * Reads, inflates and verifies the member at `offset`. With `verify` false, one of our members is only
   * checked to end inside the segment (its header gives the length), which is what walking needs.
   */
  async member(seg: Segment, offset: number, verify: boolean): Promise<ReadMember> {
    // Walking needs only headers: read one page around each, not a megabyte of bodies, so that opening a
    // large queue reads O(members) pages rather than the whole queue.
    const header = await this.header(seg, offset, verify ? WINDOW_BYTES : HEADER_WINDOW_BYTES);
    if (header === "bad")
      return { ok: false, reason: "not a gzip member header", length: undefined, header: undefined };
    if (header === "short") {
      return { ok: false, reason: "header cut short (torn write)", length: undefined, header: undefined };
    }
    const avail = seg.size - offset;
    if (header.bodyLength !== undefined) {
      const length = header.headerLength + header.bodyLength + 8;
      if (length > avail) {
        return { ok: false, reason: "member ends past end of file (torn write)", length: undefined, header };
      }
      if (!verify) return { ok: true, header, raw: new Uint8Array(0), length };
      const buf = await this.bytes(seg, offset, length);
      const size = readU32(buf, length - 4);
      if (this.offThread && size <= OFF_THREAD_MAX_BYTES) {
        // Inflated and checked on the thread pool. The window is not replaced meanwhile: every read of
        // this reader runs under its queue's lock. A member it refuses is decoded again below, for the
        // reason.
        const raw = await this.offThread.inflateMember(buf, size).catch(() => undefined);
        if (raw !== undefined && raw.length === size) return { ok: true, header, raw, length };
      }
      const d = decodeMember(buf, 0, header, this.codec);
      return typeof d === "string"
        ? { ok: false, reason: d, length, header }
        : { ok: true, header, raw: d.raw, length };
    }
    // A foreign member (Python's gzip module): its length is known only by inflating it.
    const buf = await this.bytes(seg, offset, avail);
    const d = decodeMember(buf, 0, header, this.codec);
    if (typeof d === "string") return { ok: false, reason: d, length: undefined, header };
    return { ok: true, header, raw: d.raw, length: d.memberLength };
  }
}

/** Number of non-blank lines in a member's text (a foreign member's entry count). */
export function countEntries(raw: Uint8Array): number {
  let n = 0;
  let lineHasText = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 10) {
      if (lineHasText) n++;
      lineHasText = false;
    } else if (c !== 32 && c !== 13 && c !== 9) lineHasText = true;
  }
  return lineHasText ? n + 1 : n;
}
