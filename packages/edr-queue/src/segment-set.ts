import { rename, unlink } from "node:fs/promises";
import type { Position } from "./cursor-file.js";
import { fsyncDir, openPrivate } from "./fs-util.js";
import type { QueuePaths, Segment } from "./segments.js";

/** Orders two positions (normalize them first: the end of a sealed segment is the next one's start). */
export function comparePositions(a: Position, b: Position): number {
  return a.seq - b.seq || a.offset - b.offset || a.index - b.index;
}

/**
 * The segment files of one queue, oldest first, the head last. Files only ever grow at the head, get
 * sealed by a rename, or are deleted whole once the durable cursor is past them.
 */
export class SegmentSet {
  constructor(
    private readonly paths: QueuePaths,
    private readonly list: Segment[],
  ) {}

  get head(): Segment {
    return this.list[this.list.length - 1]!;
  }

  get(seq: number): Segment | undefined {
    return this.list.find((s) => s.seq === seq);
  }

  pathOf(seg: Segment): string {
    return seg.sealed ? this.paths.sealed(seg.seq) : this.paths.head;
  }

  /** Moves a position at the end of a sealed segment to the start of the next one. */
  normalize(pos: Position): Position {
    let p = pos;
    for (;;) {
      const seg = this.get(p.seq);
      if (!seg || !seg.sealed || p.offset < seg.size) return p;
      const next = this.list[this.list.indexOf(seg) + 1];
      if (!next) return p;
      p = { seq: next.seq, offset: 0, index: 0 };
    }
  }

  /** Bytes on disk from `pos` to the end of the head. */
  bytesFrom(pos: Position): number {
    let total = 0;
    for (const s of this.list) if (s.seq >= pos.seq) total += s.size;
    return total - pos.offset;
  }

  /** Number of segment files from segment `seq` on. */
  countFrom(seq: number): number {
    return this.list.filter((s) => s.seq >= seq).length;
  }

  /** Renames the head to the next sealed name and starts an empty head (directory fsynced). */
  async seal(): Promise<void> {
    const old = this.head;
    await rename(this.paths.head, this.paths.sealed(old.seq));
    let fh;
    try {
      fh = await openPrivate(this.paths.head, "wx+");
      await fsyncDir(this.paths.dir);
    } catch (error) {
      await rename(this.paths.sealed(old.seq), this.paths.head);
      throw error;
    }
    old.sealed = true;
    this.list.push({ seq: old.seq + 1, fh, size: 0, sealed: false });
  }

  /**
   * Deletes the sealed segments before `seq`; call it only once a cursor at or past `seq` is durable.
   * (Their unlinks need no directory fsync: a segment that comes back after a power loss is behind the
   * cursor and is deleted again on open.) Returns how many were deleted.
   */
  async deleteBefore(seq: number): Promise<number> {
    let n = 0;
    while (this.list.length > 1 && this.list[0]!.seq < seq) {
      const seg = this.list.shift()!;
      await seg.fh.close();
      await unlink(this.paths.sealed(seg.seq)).catch(() => undefined);
      n++;
    }
    return n;
  }

  async closeAll(): Promise<void> {
    for (const s of this.list) await s.fh.close().catch(() => undefined);
  }
}
