// The read and ack path of the queue, and the state both paths share: reads hand out decoded members (from
// the members this process appended last when it can, else from disk, quarantining what cannot be read);
// acks and drops move the durable cursor. The append path (queue.ts) extends it.
import type { Codec } from "./codec.js";
import type { CursorFile, CursorState, Position } from "./cursor-file.js";
import { parseEntries, type QueueEntry } from "./entries.js";
import { QueueError } from "./errors.js";
import { fsyncDir } from "./fs-util.js";
import { countEntries, MemberReader } from "./member-reader.js";
import type { ResolvedOptions } from "./options.js";
import { quarantineBytes } from "./quarantine.js";
import { comparePositions, SegmentSet } from "./segment-set.js";
import type { QueuePaths, Segment } from "./segments.js";
import type { QueueBatch, QueueBatchSpan } from "./types.js";

/**
 * The members this process appended last are kept decoded, up to this many bytes of their JSON, so that
 * a reader keeping up with the writer gets them without inflating and parsing them again.
 */
const RECENT_BYTES = 8 * 1024 * 1024;

/** A member decoded: where it is, its entries, its length on disk and of its JSON. */
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

/** The queue's shared state, and its reads and acks; reads, acks and drops share one lock. */
export abstract class QueueReads {
  protected readonly reader: MemberReader;
  protected readonly paths: QueuePaths;
  protected readonly opts: ResolvedOptions;
  protected readonly files: SegmentSet;
  protected readonly cursorFile: CursorFile;
  protected cursor: CursorState;
  protected readPos: Position;
  protected entries: number;
  protected oldestMs: number | undefined;
  protected cache: CachedMember | undefined;
  /** Members appended by this process, decoded, oldest first ("seq:offset"), at most RECENT_BYTES. */
  protected readonly recent = new Map<string, CachedMember>();
  protected recentBytes = 0;
  /** Unreadable members already quarantined ("seq:offset" -> length): skipped, not quarantined again. */
  private readonly skipped = new Map<string, number>();
  protected lockChain: Promise<unknown> = Promise.resolve();
  protected rotateRequested = false;
  /** Written since the last fsync (under `fsync: "batch"`). */
  protected dirty = false;
  protected closing: Promise<void> | undefined;

  constructor(
    state: OpenedState,
    protected readonly codec: Codec,
  ) {
    this.paths = state.paths;
    this.opts = state.options;
    this.reader = new MemberReader(codec);
    this.files = new SegmentSet(state.paths, state.segments);
    this.cursorFile = state.cursorFile;
    this.cursor = state.cursor;
    this.readPos = state.cursor.pos;
    this.entries = state.entries;
    this.oldestMs = state.oldestMs;
  }

  /** Wakes the writer loop (to seal a drained head). */
  protected abstract kick(): void;

  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockChain.then(fn, fn);
    this.lockChain = run.catch(() => undefined);
    return run;
  }

  protected checkOpen(op: string): void {
    if (this.closing) throw new QueueError("CLOSED", `${op}: the queue ${this.paths.head} is closed`);
  }

  /** Keeps a member just written, decoded, for a reader that keeps up; the oldest go first. */
  protected remember(m: CachedMember): void {
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
  protected forgetAcknowledged(): void {
    const pos = this.cursor.pos;
    for (const [key, m] of this.recent) {
      if (m.seg.seq > pos.seq || (m.seg.seq === pos.seq && m.offset + m.length > pos.offset)) break;
      this.recent.delete(key);
      this.recentBytes -= m.rawLength;
    }
  }

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
  protected async decodedAt(seg: Segment, offset: number): Promise<CachedMember | undefined> {
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

  protected async countBetween(from: Position, to: Position): Promise<number> {
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

  /**
   * Writes the cursor (next generation) with `change` and then, in the same synchronous step, takes `gone` entries off the
   * count: stats() sees both or neither, and a write that fails changes nothing.
   */
  protected async persist(change: Partial<CursorState>, gone = 0): Promise<void> {
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
  protected async afterAdvance(): Promise<void> {
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
}

function show(p: Position): string {
  return `segment ${p.seq} offset ${p.offset} entry ${p.index}`;
}
