import { crc32 } from "node:zlib";
import { offThreadOf, resolveCodec, type Codec, type OffThreadCodec } from "./codec.js";
import type { CursorFile, CursorState, Position } from "./cursor-file.js";
import { parseEntries, serializeEntries, type ByteStore, type QueueEntry } from "./entries.js";
import { QueueError } from "./errors.js";
import { errnoCode, fsyncDir, writeFully } from "./fs-util.js";
import { encodeHeader, trailerOf } from "./member.js";
import { countEntries, MemberReader } from "./member-reader.js";
import type { ResolvedOptions } from "./options.js";
import { quarantineBytes } from "./quarantine.js";
import { comparePositions, SegmentSet } from "./segment-set.js";
import type { QueuePaths, Segment } from "./segments.js";
import type { QueueBatch, QueueBatchSpan, Queue, QueueStats } from "./types.js";

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
/**
 * The members this process appended last are kept decoded, up to this many bytes of their JSON, so that
 * a reader keeping up with the writer gets them without inflating and parsing them again.
 */
const RECENT_BYTES = 8 * 1024 * 1024;

interface PendingAppend {
  /** The JSON lines, a view of `store.buf`. */
  readonly raw: Buffer;
  readonly store: ByteStore;
  /** Copies of the appended entries, for the recent members. */
  readonly entries: QueueEntry[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface CachedMember {
  readonly seg: Segment;
  readonly offset: number;
  readonly entries: readonly QueueEntry[];
  readonly length: number;
  readonly rawLength: number;
}

/** The state an opened queue starts from (see open-queue.ts). */
export interface OpenedState {
  readonly paths: QueuePaths;
  readonly options: ResolvedOptions;
  readonly segments: Segment[];
  readonly cursorFile: CursorFile;
  readonly cursor: CursorState;
  readonly entries: number;
  readonly oldestMs: number | undefined;
  readonly releaseLock: () => Promise<void>;
}

/** The queue behind {@link Queue}. One writer loop appends; reads, acks and drops share one lock. */
export class DiskQueue implements Queue {
  private readonly codec: Codec;
  private readonly offThread: OffThreadCodec | undefined;
  private readonly reader: MemberReader;
  private readonly paths: QueuePaths;
  private readonly opts: ResolvedOptions;
  private readonly files: SegmentSet;
  private readonly cursorFile: CursorFile;
  private cursor: CursorState;
  private readPos: Position;
  private entries: number;
  private oldestMs: number | undefined;
  private cache: CachedMember | undefined;
  /** Members appended by this process, decoded, oldest first ("seq:offset"), at most RECENT_BYTES. */
  private readonly recent = new Map<string, CachedMember>();
  private recentBytes = 0;
  private readonly spareStores: ByteStore[] = [];
  /** Unreadable members already quarantined ("seq:offset" -> length): skipped, not quarantined again. */
  private readonly skipped = new Map<string, number>();
  private pending: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  private lockChain: Promise<unknown> = Promise.resolve();
  private rotateRequested = false;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly releaseLock: () => Promise<void>;

  constructor(state: OpenedState) {
    this.paths = state.paths;
    this.opts = state.options;
    this.codec = resolveCodec(state.options.codec);
    this.offThread = offThreadOf(this.codec);
    this.reader = new MemberReader(this.codec);
    this.files = new SegmentSet(state.paths, state.segments);
    this.cursorFile = state.cursorFile;
    this.cursor = state.cursor;
    this.readPos = state.cursor.pos;
    this.entries = state.entries;
    this.oldestMs = state.oldestMs;
    this.releaseLock = state.releaseLock;
    if (this.opts.fsync === "batch") {
      this.timer = setInterval(() => void this.syncDirty(), this.opts.fsyncIntervalMs);
      this.timer.unref();
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockChain.then(fn, fn);
    this.lockChain = run.catch(() => undefined);
    return run;
  }

  private checkOpen(op: string): void {
    if (this.closing) throw new QueueError("CLOSED", `${op}: the queue ${this.paths.head} is closed`);
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

  private kick(): void {
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

  /** Keeps a member just written, decoded, for a reader that keeps up; the oldest go first. */
  private remember(m: CachedMember): void {
    if (m.rawLength > RECENT_BYTES) return;
    this.recent.set(`${m.seg.seq}:${m.offset}`, m);
    this.recentBytes += m.rawLength;
    for (const [key, old] of this.recent) {
      if (this.recentBytes <= RECENT_BYTES) break;
      this.recent.delete(key);
      this.recentBytes -= old.rawLength;
    }
  }

  /** Forgets the recent members behind the acknowledged position (they are never read again). */
  private forgetAcknowledged(): void {
    const pos = this.cursor.pos;
    for (const [key, m] of this.recent) {
      if (m.seg.seq > pos.seq || (m.seg.seq === pos.seq && m.offset + m.length > pos.offset)) break;
      this.recent.delete(key);
      this.recentBytes -= m.rawLength;
    }
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

  // ---- read / ack ----------------------------------------------------------------------------------

  async read(options?: { maxEntries?: number; maxBytes?: number }): Promise<QueueBatch> {
    this.checkOpen("read");
    const maxEntries = options?.maxEntries ?? 1000;
    const maxBytes = options?.maxBytes ?? 4 * 1024 * 1024;
    if (!(maxBytes > 0)) {
      throw new QueueError("INVALID_ARGUMENT", `read: maxBytes: expected a positive number, got ${maxBytes}`);
    }
    if (!(Number.isSafeInteger(maxEntries) && maxEntries > 0)) {
      throw new QueueError(
        "INVALID_ARGUMENT",
        `read: maxEntries: expected a positive integer, got ${maxEntries}`,
      );
    }
    return this.exclusive(async () => {
      const start = this.files.normalize(this.readPos);
      let pos = start;
      const out: QueueEntry[] = [];
      let bytes = 0;
      while (out.length < maxEntries && bytes < maxBytes) {
        const seg = this.files.get(pos.seq);
        if (!seg || pos.offset >= seg.size) break;
        const m = await this.decodedAt(seg, pos.offset);
        if (m === undefined) {
          pos = this.files.normalize(this.readPos);
          continue;
        }
        const perEntry = m.entries.length > 0 ? m.rawLength / m.entries.length : 0;
        let i = pos.index;
        while (i < m.entries.length && out.length < maxEntries && bytes < maxBytes) {
          out.push(m.entries[i]!);
          bytes += perEntry;
          i++;
        }
        pos = this.files.normalize(
          i >= m.entries.length
            ? { seq: seg.seq, offset: pos.offset + m.length, index: 0 }
            : { seq: seg.seq, offset: pos.offset, index: i },
        );
        this.readPos = pos;
      }
      if (out.length === 0) {
        // Nothing to hand out. The read position stays where this read began (or at the acknowledged
        // position, if skipping an unreadable member moved it), so the next batch starts there and
        // stays acknowledgeable in order: no empty batch ever needs an ack.
        const cur = this.files.normalize(this.cursor.pos);
        const at = comparePositions(start, cur) < 0 ? cur : start;
        this.readPos = at;
        return { entries: out, start: at, end: at };
      }
      this.readPos = pos;
      return { entries: out, start, end: pos };
    });
  }

  /**
   * The decoded member at `offset`, from the cache when a batch ended inside it. An unreadable member is
   * quarantined and skipped (the read position moves past it) and undefined is returned.
   */
  private async decodedAt(seg: Segment, offset: number): Promise<CachedMember | undefined> {
    const c = this.cache;
    if (c && c.seg === seg && c.offset === offset) return c;
    const recent = this.recent.get(`${seg.seq}:${offset}`);
    if (recent !== undefined && recent.seg === seg) {
      this.cache = recent;
      return recent;
    }
    const known = this.skipped.get(`${seg.seq}:${offset}`);
    if (known !== undefined) {
      this.readPos = this.files.normalize({ seq: seg.seq, offset: offset + known, index: 0 });
      return undefined;
    }
    const m = await this.reader.member(seg, offset, true);
    let reason: string;
    let skip: number;
    if (m.ok) {
      const parsed = parseEntries(Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.length).toString("utf8"));
      if (typeof parsed !== "string") {
        this.cache = { seg, offset, entries: parsed, length: m.length, rawLength: m.raw.length };
        return this.cache;
      }
      reason = `gzip member is not JSON lines of entries: ${parsed}`;
      skip = m.length;
      this.entries -= m.header.count ?? countEntries(m.raw);
    } else {
      reason = m.reason;
      skip = m.length ?? seg.size - offset;
      if (m.header?.count !== undefined) this.entries -= m.header.count;
    }
    const event = await quarantineBytes(
      this.paths.quarantine,
      this.reader,
      seg,
      this.files.pathOf(seg),
      offset,
      skip,
      reason,
    );
    await fsyncDir(this.paths.dir);
    this.report(event.bytes, event.file, event.offset, event.reason);
    this.skipped.set(`${seg.seq}:${offset}`, skip);
    this.readPos = this.files.normalize({ seq: seg.seq, offset: offset + skip, index: 0 });
    this.cursor = {
      ...this.cursor,
      quarantinedBytes: this.cursor.quarantinedBytes + skip,
      quarantinedEvents: this.cursor.quarantinedEvents + 1,
    };
    // A skipped member at the acknowledged position is acknowledged at once, so an empty batch is never
    // needed to get past it.
    const cur = this.files.normalize(this.cursor.pos);
    if (cur.seq === seg.seq && cur.offset === offset) {
      this.cursor = { ...this.cursor, pos: this.readPos };
      await this.persist({});
      await this.afterAdvance();
    }
    return undefined;
  }

  report(bytes: number, file: string, offset: number, reason: string): void {
    this.opts.onWarning(
      `[edr-queue] quarantined ${bytes} bytes of ${file} at offset ${offset} (${reason}) into ${this.paths.quarantine}`,
    );
  }

  async ack(batch: QueueBatchSpan): Promise<void> {
    this.checkOpen("ack");
    return this.exclusive(async () => {
      const cur = this.files.normalize(this.cursor.pos);
      const start = this.files.normalize(batch.start);
      const end = this.files.normalize(batch.end);
      if (comparePositions(end, cur) <= 0) return;
      if (comparePositions(start, cur) > 0) {
        throw new QueueError(
          "OUT_OF_ORDER",
          `ack: batch starts at ${show(start)} but the oldest unacknowledged entry is at ${show(cur)}; acknowledge batches in the order read() returned them`,
        );
      }
      const n = comparePositions(start, cur) === 0 ? batch.entries.length : await this.countBetween(cur, end);
      // The count moves with the durable cursor (see persist): `appended = acknowledged + dropped + entries`
      // holds at every moment, and a cursor write that fails acknowledges nothing.
      await this.persist({ pos: end, acknowledged: this.cursor.acknowledged + n }, n);
      if (this.opts.fsync === "batch") this.dirty = true;
      if (comparePositions(this.readPos, end) < 0) this.readPos = end;
      await this.afterAdvance();
    }).then(() => {
      const pos = this.cursor.pos;
      if (
        pos.seq === this.files.head.seq &&
        pos.offset === this.files.head.size &&
        this.files.head.size >= this.opts.reclaimBytes
      ) {
        this.rotateRequested = true;
        this.kick();
      }
    });
  }

  private async countBetween(from: Position, to: Position): Promise<number> {
    let n = 0;
    let pos = from;
    while (comparePositions(pos, to) < 0) {
      const seg = this.files.get(pos.seq)!;
      const m = await this.reader.member(seg, pos.offset, false);
      const count = m.ok ? (m.header.count ?? countEntries(m.raw)) : 0;
      const last = pos.seq === to.seq && pos.offset === to.offset;
      n += (last ? to.index : count) - pos.index;
      if (last || m.length === undefined) break;
      pos = this.files.normalize({ seq: seg.seq, offset: pos.offset + m.length, index: 0 });
    }
    return n;
  }

  /** Writes the cursor (next generation) with the given counter changes. */
  /**
   * Writes the cursor with `change` and then, in the same synchronous step, takes `gone` entries off the
   * count: stats() sees both or neither, and a write that fails changes nothing.
   */
  private async persist(change: Partial<CursorState>, gone = 0): Promise<void> {
    const next: CursorState = {
      ...this.cursor,
      ...change,
      pos: this.files.normalize(change.pos ?? this.cursor.pos),
      gen: this.cursor.gen + 1,
    };
    await this.cursorFile.write(next);
    this.cursor = next;
    this.entries -= gone;
  }

  /** After the durable cursor moved: delete sealed segments behind it, refresh the oldest entry's time. */
  private async afterAdvance(): Promise<void> {
    this.forgetAcknowledged();
    if ((await this.files.deleteBefore(this.cursor.pos.seq)) > 0) {
      if (this.cache && this.cache.seg.seq < this.cursor.pos.seq) this.cache = undefined;
      this.reader.reset();
    }
    const seg = this.files.get(this.cursor.pos.seq);
    if (!seg || this.cursor.pos.offset >= seg.size) {
      this.oldestMs = undefined;
      return;
    }
    const h = await this.reader.header(seg, this.cursor.pos.offset);
    this.oldestMs = typeof h === "object" ? h.mtimeMs : undefined;
  }

  rewind(): void {
    this.readPos = this.cursor.pos;
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

function show(p: Position): string {
  return `segment ${p.seq} offset ${p.offset} entry ${p.index}`;
}
