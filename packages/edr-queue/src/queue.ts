import { resolveCodec, type Codec } from "./codec.js";
import type { CursorFile, CursorState, Position } from "./cursor-file.js";
import { parseEntries, serializeEntries, type QueueEntry } from "./entries.js";
import { QueueError } from "./errors.js";
import { errnoCode, fsyncDir, writeFully } from "./fs-util.js";
import { encodeHeader, encodeTrailer } from "./member.js";
import { countEntries, MemberReader } from "./member-reader.js";
import type { ResolvedOptions } from "./options.js";
import { quarantineBytes } from "./quarantine.js";
import { comparePositions, SegmentSet } from "./segment-set.js";
import type { QueuePaths, Segment } from "./segments.js";
import type { QueueBatch, QueueBatchSpan, Queue, QueueStats } from "./types.js";

/** A group commit stops adding appends at this much JSON text (bounds one member's size in memory). */
const MAX_GROUP_CHARS = 8 * 1024 * 1024;

interface PendingAppend {
  readonly text: string;
  readonly count: number;
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
    let text: string;
    try {
      text = serializeEntries(entries);
    } catch (error) {
      throw new QueueError("INVALID_ARGUMENT", (error as Error).message.replace("[edr-queue] ", ""));
    }
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ text, count: entries.length, resolve, reject });
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
      let chars = 0;
      while (take < this.pending.length && (take === 0 || chars < MAX_GROUP_CHARS)) {
        chars += this.pending[take]!.text.length;
        take++;
      }
      const group = this.pending.splice(0, take);
      await this.writeGroup(group);
    }
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    try {
      await this.writeMember(
        group.length === 1 ? group[0]!.text : group.map((g) => g.text).join(""),
        sum(group),
      );
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

  private async writeMember(text: string, count: number): Promise<void> {
    const raw = Buffer.from(text, "utf8");
    const body = this.codec.deflateRaw(raw);
    const now = Date.now();
    const header = encodeHeader(body.length, count, now);
    const trailer = encodeTrailer(raw);
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
      while (this.files.bytesFrom(this.cursor.pos) + length > this.opts.maxBytes) {
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
        this.cursor = { ...this.cursor, pos };
      }
      this.entries -= dropped;
      await this.persist({ dropped: this.cursor.dropped + dropped });
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
      this.entries -= n;
      this.cursor = { ...this.cursor, pos: end };
      await this.persist({ acknowledged: this.cursor.acknowledged + n });
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
  private async persist(change: Partial<CursorState>): Promise<void> {
    const next: CursorState = {
      ...this.cursor,
      ...change,
      pos: this.files.normalize(this.cursor.pos),
      gen: this.cursor.gen + 1,
    };
    await this.cursorFile.write(next);
    this.cursor = next;
  }

  /** After the durable cursor moved: delete sealed segments behind it, refresh the oldest entry's time. */
  private async afterAdvance(): Promise<void> {
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
      await this.files.closeAll();
      await this.cursorFile.close().catch(() => undefined);
      await this.releaseLock();
    })();
    return this.closing;
  }
}

function sum(group: readonly PendingAppend[]): number {
  let n = 0;
  for (const g of group) n += g.count;
  return n;
}

function show(p: Position): string {
  return `segment ${p.seq} offset ${p.offset} entry ${p.index}`;
}
