// The queue behind createQueue: the append path (group commit, compression, segments, making room) on top of
// the shared state and the read and ack path of queue-reads.ts.
import { crc32 } from "node:zlib";
import { offThreadOf, resolveCodec, type OffThreadCodec } from "./codec.js";
import { serializeEntries, type ByteStore, type QueueEntry } from "./entries.js";
import { QueueError } from "./errors.js";
import { errnoCode, writeFully } from "./fs-util.js";
import { encodeHeader, trailerOf } from "./member.js";
import { countEntries } from "./member-reader.js";
import { QueueReads, type OpenedState } from "./queue-reads.js";
import { comparePositions } from "./segment-set.js";
import type { Segment } from "./segments.js";
import type { Queue, QueueStats } from "./types.js";

/** A group commit stops adding appends at this many bytes of JSON (bounds one member's size in memory). */
const MAX_GROUP_BYTES = 8 * 1024 * 1024;
/**
 * Appends up to this many bytes of JSON are compressed on the main thread even with zlib: below it the trip to
 * the thread pool costs more than the work (a 1,000-line append: 1.5x the durable floor, against 1.8-1.9x on
 * the pool; see BENCHMARKS.md).
 */
const MAIN_THREAD_COMPRESS_MAX_BYTES = 256 * 1024;
/** Serialization buffers kept for reuse between appends, and the largest one kept. */
const SPARE_STORES = 2;
const MAX_SPARE_STORE_BYTES = 4 * 1024 * 1024;

interface PendingAppend {
  /** The JSON lines, a view of `store.buf`. */
  readonly raw: Buffer;
  readonly store: ByteStore;
  /** Copies of the appended entries, for the recent members. */
  readonly entries: QueueEntry[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The queue behind {@link Queue}. One writer loop appends; reads, acks and drops share one lock. */
export class DiskQueue extends QueueReads implements Queue {
  private readonly offThread: OffThreadCodec | undefined;
  private readonly spareStores: ByteStore[] = [];
  private pending: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly releaseLock: () => Promise<void>;

  constructor(state: OpenedState) {
    super(state, resolveCodec(state.options.codec));
    this.offThread = offThreadOf(this.codec);
    this.releaseLock = state.releaseLock;
    if (this.opts.fsync === "batch") {
      this.timer = setInterval(() => void this.syncDirty(), this.opts.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  // ---- append ------------------------------------------------------------------------------------

  async append(entries: readonly QueueEntry[]): Promise<void> {
    // Everything up to the push runs synchronously, so appends queue in call order.
    this.checkOpen("append");
    if (!Array.isArray(entries)) {
      throw new QueueError("INVALID_ARGUMENT", `append: expected an array of entries, got ${typeof entries}`);
    }
    if (entries.length === 0) return;
    const store = this.spareStores.pop() ?? { buf: Buffer.alloc(0) };
    const copies: QueueEntry[] = new Array<QueueEntry>(entries.length);
    let raw: Buffer;
    try {
      raw = serializeEntries(entries, store, copies);
    } catch (error) {
      this.spareStores.push(store);
      throw new QueueError("INVALID_ARGUMENT", (error as Error).message.replace("[edr-queue] ", ""));
    }
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ raw, store, entries: copies, resolve, reject });
      this.kick();
    });
  }

  protected kick(): void {
    this.writing ??= this.writeLoop().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0 || this.rotateRequested) this.kick();
    });
  }

  private async writeLoop(): Promise<void> {
    while (this.pending.length > 0 || this.rotateRequested) {
      if (this.rotateRequested) {
        this.rotateRequested = false;
        await this.rotateIfDrained().catch((error: unknown) =>
          this.opts.onWarning(`[edr-queue] reclaiming ${this.paths.head} failed: ${String(error)}`),
        );
        continue;
      }
      // Group commit: every append waiting now becomes one member and shares one fsync.
      let take = 0;
      let bytes = 0;
      while (take < this.pending.length && (take === 0 || bytes < MAX_GROUP_BYTES)) {
        bytes += this.pending[take]!.raw.length;
        take++;
      }
      const group = this.pending.splice(0, take);
      await this.writeGroup(group);
      // The group's bytes are written (or refused): their buffers can take the next appends.
      for (const g of group) {
        if (this.spareStores.length < SPARE_STORES && g.store.buf.length <= MAX_SPARE_STORE_BYTES) {
          this.spareStores.push(g.store);
        }
      }
    }
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    try {
      if (group.length === 1) {
        await this.writeMember(group[0]!.raw, group[0]!.entries);
      } else {
        await this.writeMember(
          Buffer.concat(group.map((g) => g.raw)),
          group.flatMap((g) => g.entries),
        );
      }
      for (const g of group) g.resolve();
    } catch (error) {
      if (group.length > 1 && error instanceof QueueError && error.code === "FULL") {
        // Only the appends that do not fit fail; try them one by one.
        for (const g of group) await this.writeGroup([g]);
        return;
      }
      for (const g of group) g.reject(error);
    }
  }

  private async writeMember(raw: Buffer, entries: QueueEntry[]): Promise<void> {
    const count = entries.length;
    let body: Uint8Array;
    let crc: number;
    if (this.offThread && raw.length > MAIN_THREAD_COMPRESS_MAX_BYTES) {
      // Compressed (and its CRC computed) on the thread pool: the main thread serves the caller meanwhile.
      try {
        ({ body, crc } = await this.offThread.compress(raw));
      } catch (error) {
        throw new QueueError(
          "IO",
          `append: compressing failed (${String(error)}); this append was not queued`,
          {
            cause: error,
          },
        );
      }
    } else {
      body = this.codec.deflateRaw(raw);
      crc = crc32(raw);
    }
    const now = Date.now();
    const header = encodeHeader(body.length, count, now);
    const trailer = trailerOf(crc, raw.length);
    const length = header.length + body.length + trailer.length;
    if (this.files.bytesFrom(this.cursor.pos) + length > this.opts.maxBytes) await this.makeRoom(length);
    const head = await this.headFor(length);
    try {
      await writeFully(head.fh, [header, body, trailer], head.size);
      if (this.opts.fsync === "always") await head.fh.datasync();
    } catch (error) {
      // Cut off whatever part of the member reached the file, so the head stays whole members.
      await head.fh.truncate(head.size).catch(() => undefined);
      const code = errnoCode(error);
      throw new QueueError(
        "IO",
        `append: writing ${this.paths.head} failed (${code ?? String(error)})${code === "ENOSPC" || code === "EFBIG" ? ": the disk or file-size limit is full" : ""}; this append was not queued, earlier entries are intact`,
        { cause: error },
      );
    }
    if (this.opts.fsync === "batch") this.dirty = true;
    this.remember({ seg: head, offset: head.size, entries, length, rawLength: raw.length });
    head.size += length;
    if (this.entries === 0 && this.oldestMs === undefined) this.oldestMs = now;
    this.entries += count;
  }

  private async headFor(length: number): Promise<Segment> {
    if (this.files.head.size > 0 && this.files.head.size + length > this.opts.segmentBytes) {
      try {
        await this.files.seal();
      } catch (error) {
        throw new QueueError(
          "IO",
          `append: sealing ${this.paths.head} failed (${errnoCode(error) ?? String(error)}); this append was not queued`,
          { cause: error },
        );
      }
    }
    return this.files.head;
  }

  /** Makes room for `length` more bytes, by dropping the oldest members or by refusing. */
  private async makeRoom(length: number): Promise<void> {
    const full = (): QueueError =>
      new QueueError(
        "FULL",
        `append: queue ${this.paths.head} is full: ${this.files.bytesFrom(this.cursor.pos)} bytes queued + ${length} > maxBytes ${this.opts.maxBytes}; nothing was dropped (onFull: "${this.opts.onFull}")`,
      );
    if (this.opts.onFull === "error" || length > this.opts.maxBytes) throw full();
    await this.exclusive(async () => {
      let pos = this.files.normalize(this.cursor.pos);
      let dropped = 0;
      while (this.files.bytesFrom(pos) + length > this.opts.maxBytes) {
        const seg = this.files.get(pos.seq)!;
        if (pos.offset >= seg.size) break;
        const m = await this.reader.member(seg, pos.offset, false);
        const n = m.ok ? (m.header.count ?? countEntries(m.raw)) : 0;
        dropped += Math.max(0, n - pos.index);
        pos = this.files.normalize({
          seq: seg.seq,
          offset: m.length === undefined ? seg.size : pos.offset + m.length,
          index: 0,
        });
      }
      // The cursor moves (and the count with it) only once the new cursor is durable.
      await this.persist({ pos, dropped: this.cursor.dropped + dropped }, dropped);
      if (comparePositions(this.readPos, pos) < 0) this.readPos = pos;
      await this.afterAdvance();
    });
    if (this.files.bytesFrom(this.cursor.pos) + length > this.opts.maxBytes) throw full();
  }

  /** Seals and deletes a fully acknowledged head of at least `reclaimBytes`. Runs in the writer loop. */
  private async rotateIfDrained(): Promise<void> {
    const drained = (): boolean => {
      const pos = this.cursor.pos;
      return (
        pos.seq === this.files.head.seq &&
        pos.offset === this.files.head.size &&
        this.files.head.size >= this.opts.reclaimBytes
      );
    };
    if (this.closing || !drained()) return;
    await this.exclusive(async () => {
      if (!drained()) return;
      await this.files.seal();
      await this.persist({});
      if (comparePositions(this.readPos, this.cursor.pos) < 0) this.readPos = this.cursor.pos;
      await this.afterAdvance();
    });
  }

  private async syncDirty(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await this.files.head.fh.datasync().catch(() => undefined);
    await this.cursorFile.sync().catch(() => undefined);
  }

  stats(): QueueStats {
    return {
      entries: this.entries,
      bytes: this.files.bytesFrom(this.cursor.pos),
      oldestAgeMs:
        this.entries > 0 && this.oldestMs !== undefined ? Math.max(0, Date.now() - this.oldestMs) : undefined,
      appended: this.cursor.acknowledged + this.cursor.dropped + this.entries,
      acknowledged: this.cursor.acknowledged,
      dropped: this.cursor.dropped,
      quarantinedBytes: this.cursor.quarantinedBytes,
      quarantinedEvents: this.cursor.quarantinedEvents,
      segments: this.files.countFrom(this.cursor.pos.seq),
      codec: this.codec.name,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      while (this.writing) await this.writing;
      await this.lockChain;
      if (this.opts.fsync !== "never") {
        await this.files.head.fh.datasync().catch(() => undefined);
        await this.cursorFile.sync().catch(() => undefined);
      }
      this.recent.clear();
      this.recentBytes = 0;
      this.cache = undefined;
      await this.files.closeAll();
      await this.cursorFile.close().catch(() => undefined);
      await this.releaseLock();
    })();
    return this.closing;
  }
}
