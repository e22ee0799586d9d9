import { crc32 } from "node:zlib";
import { rename, type FileHandle } from "node:fs/promises";
import { fsyncDir, openPrivate, writeFully } from "./fs-util.js";

/** Where reading resumes: member at byte `offset` of segment `seq`, after its first `index` entries. */
export interface Position {
  readonly seq: number;
  readonly offset: number;
  readonly index: number;
}

/** What the cursor file keeps: the acknowledged position and the lifetime counters. */
export interface CursorState {
  readonly gen: number;
  readonly pos: Position;
  readonly acknowledged: number;
  readonly dropped: number;
  readonly quarantinedBytes: number;
  readonly quarantinedEvents: number;
}

/**
 * The cursor file holds two fixed-size slots written alternately (generation n goes to slot n % 2), each
 * a JSON line with its own CRC-32. A write torn by a crash damages only the slot being written; the other
 * slot still holds the previous good cursor, which is what a reader falls back to. This gives the
 * temp-file-and-rename guarantee with one fsync per acknowledgement and no directory fsync.
 */
export const SLOT_BYTES = 256;

export function encodeSlot(state: CursorState): Buffer {
  const json = JSON.stringify({
    v: 1,
    gen: state.gen,
    seq: state.pos.seq,
    offset: state.pos.offset,
    index: state.pos.index,
    acknowledged: state.acknowledged,
    dropped: state.dropped,
    quarantinedBytes: state.quarantinedBytes,
    quarantinedEvents: state.quarantinedEvents,
  });
  const text = `${json} ${(crc32(json) >>> 0).toString(16).padStart(8, "0")}`;
  if (text.length > SLOT_BYTES - 1) throw new Error("cursor slot overflow");
  const slot = Buffer.alloc(SLOT_BYTES, 0x20);
  slot.write(text, 0, "latin1");
  slot[SLOT_BYTES - 1] = 0x0a;
  return slot;
}

export function decodeSlot(slot: Buffer): CursorState | undefined {
  const text = slot.toString("latin1").trimEnd();
  const space = text.lastIndexOf(" ");
  if (space < 0) return undefined;
  const json = text.slice(0, space);
  if ((crc32(json) >>> 0).toString(16).padStart(8, "0") !== text.slice(space + 1)) return undefined;
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    const nums = ["gen", "seq", "offset", "index", "acknowledged", "dropped"].map((k) => v[k]);
    if (v.v !== 1 || !nums.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return undefined;
    return {
      gen: v.gen as number,
      pos: { seq: v.seq as number, offset: v.offset as number, index: v.index as number },
      acknowledged: v.acknowledged as number,
      dropped: v.dropped as number,
      quarantinedBytes: Number(v.quarantinedBytes) || 0,
      quarantinedEvents: Number(v.quarantinedEvents) || 0,
    };
  } catch {
    return undefined;
  }
}

/** Reads both slots and returns the valid one with the higher generation, or undefined if neither is. */
export function pickSlot(file: Buffer): CursorState | undefined {
  const a = file.length >= SLOT_BYTES ? decodeSlot(file.subarray(0, SLOT_BYTES)) : undefined;
  const b = file.length >= 2 * SLOT_BYTES ? decodeSlot(file.subarray(SLOT_BYTES, 2 * SLOT_BYTES)) : undefined;
  if (a && b) return a.gen >= b.gen ? a : b;
  return a ?? b;
}

/** An open cursor file. */
export class CursorFile {
  private constructor(
    private readonly fh: FileHandle,
    private readonly syncEach: boolean,
  ) {}

  /**
   * Opens the cursor file, creating it (temp file, fsync, rename, directory fsync) with `initial` if it
   * does not exist. Returns the file and the state read from it (`initial` when created or unreadable).
   */
  static async open(
    path: string,
    dir: string,
    initial: CursorState,
    sync: boolean,
  ): Promise<{ file: CursorFile; state: CursorState | undefined; created: boolean }> {
    let fh: FileHandle;
    try {
      fh = await openPrivate(path, "r+");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      const tmp = `${path}.tmp`;
      const t = await openPrivate(tmp, "w");
      try {
        await t.write(
          Buffer.concat([encodeSlot(initial), Buffer.alloc(SLOT_BYTES, 0x20)]),
          0,
          2 * SLOT_BYTES,
          0,
        );
        await t.sync();
      } finally {
        await t.close();
      }
      await rename(tmp, path);
      await fsyncDir(dir);
      fh = await openPrivate(path, "r+");
      return { file: new CursorFile(fh, sync), state: undefined, created: true };
    }
    const buf = Buffer.alloc(2 * SLOT_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { file: new CursorFile(fh, sync), state: pickSlot(buf.subarray(0, bytesRead)), created: false };
  }

  /** Writes `state` into its slot and, unless fsync is 'never', makes it durable before resolving. */
  async write(state: CursorState): Promise<void> {
    const slot = encodeSlot(state);
    await writeFully(this.fh, [slot], (state.gen % 2) * SLOT_BYTES);
    if (this.syncEach) await this.fh.datasync();
  }

  /** fsyncs the file (for fsync: 'batch'). */
  async sync(): Promise<void> {
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
