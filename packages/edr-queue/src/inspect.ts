import { open, readFile, stat, type FileHandle } from "node:fs/promises";
import { resolveCodec, type CodecOption } from "./codec.js";
import { pickSlot, SLOT_BYTES, type CursorState, type Position } from "./cursor-file.js";
import { parseEntries } from "./entries.js";
import { QueueError } from "./errors.js";
import { errnoCode } from "./fs-util.js";
import { countEntries, MemberReader } from "./member-reader.js";
import { DEFAULT_NAME } from "./options.js";
import { listSealed, queuePaths, type QueuePaths, type Segment } from "./segments.js";

/** Options of {@link inspectQueue}. */
export interface InspectOptions {
  /** The queue directory. */
  readonly dir: string;
  /** The queue name (`edr_queue_<name>.*`). @default "writes" */
  readonly name?: string;
  /**
   * Also count the unacknowledged entries per table. This inflates every unacknowledged member (one at a
   * time, so memory stays bounded by the largest member), which takes as long as draining without sending.
   * @default false
   */
  readonly perTable?: boolean;
  /** The codec that inflates members for `perTable`. @default "zlib" */
  readonly codec?: CodecOption;
  /** Wall clock in epoch ms, for `oldestAgeMs`. @default Date.now */
  readonly now?: () => number;
}

/** Who holds the queue's lock file. */
export interface LockOwner {
  /** The pid written in the lock file; undefined when the file holds no pid (its owner died while creating it). */
  readonly pid: number | undefined;
  /** Whether that process is alive (a dead owner's lock is taken over by the next `createQueue`). */
  readonly alive: boolean;
}

/** What {@link inspectQueue} found: a snapshot taken without the lock and without writing anything. */
export interface QueueInspection {
  readonly dir: string;
  readonly name: string;
  /** Whether any file of this queue exists. */
  readonly exists: boolean;
  /** Unacknowledged entries in whole members (as `stats().entries` of an open queue). */
  readonly entries: number;
  /** Unacknowledged bytes on disk, compressed (as `stats().bytes`; a tail still being written is not counted). */
  readonly bytes: number;
  /** Age in ms of the oldest unacknowledged append, or undefined when nothing is queued. */
  readonly oldestAgeMs: number | undefined;
  /** Append time of the oldest unacknowledged member (epoch ms), or undefined. */
  readonly oldestAppendMs: number | undefined;
  /** Lifetime counters from the cursor file: `appended = acknowledged + dropped + entries`. */
  readonly appended: number;
  readonly acknowledged: number;
  readonly dropped: number;
  /** Segment files holding unacknowledged data (sealed ones plus the head). */
  readonly segments: number;
  /** Sealed segments already acknowledged whose deletion is pending (the next open deletes them). */
  readonly acknowledgedSegments: number;
  /** Bytes at the end of the head that do not form a whole member yet: an append in progress (or a crash's torn tail, which the next open quarantines). */
  readonly pendingTailBytes: number;
  /** Bytes that cannot be read as members in sealed segments (the next open or read quarantines them). */
  readonly unreadableBytes: number;
  /** Members with a sound header but a bad body (counted in `entries`, quarantined when read). */
  readonly corruptMembers: number;
  /** Size of the quarantine file (0 when there is none), and the cursor's counters of what was moved there. */
  readonly quarantine: { readonly fileBytes: number; readonly bytes: number; readonly events: number };
  /** `"ok"`, `"missing"` (no cursor file: nothing was acknowledged yet) or `"unreadable"` (both copies bad: an open reads from the oldest entry again). */
  readonly cursor: "ok" | "missing" | "unreadable";
  /** The lock file's owner, or undefined when the queue is not open. */
  readonly lock: LockOwner | undefined;
  /** With `perTable`: unacknowledged entries per table, in order of first appearance. */
  readonly perTable?: Readonly<Record<string, number>>;
}

const ATTEMPTS = 3;

/**
 * Reports what a queue holds, without taking its lock and without writing, creating, moving or deleting
 * anything, so it works while another process owns the queue. The result is a snapshot: when the owner
 * seals, deletes or acknowledges while it is taken, it is taken again (up to 3 times). An incomplete member at
 * the end of the head is an append in progress (`pendingTailBytes`), never an error.
 *
 * @example
 * const info = await inspectQueue({ dir: "/var/lib/edr", name: "schedule", perTable: true });
 * console.log(info.entries, info.bytes, info.perTable, info.lock?.pid);
 */
export async function inspectQueue(options: InspectOptions): Promise<QueueInspection> {
  const name = options.name ?? DEFAULT_NAME;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new QueueError(
      "INVALID_ARGUMENT",
      `inspectQueue: name: expected letters, digits, _ and -, got ${JSON.stringify(name)}`,
    );
  }
  const paths = queuePaths(options.dir, name);
  try {
    const dirStat = await stat(options.dir).catch((error: unknown) => {
      if (errnoCode(error) === "ENOENT") return undefined;
      throw error;
    });
    if (dirStat === undefined) return emptyInspection(options.dir, name);
    if (!dirStat.isDirectory()) {
      throw new QueueError(
        "INVALID_ARGUMENT",
        `inspectQueue: dir ${JSON.stringify(options.dir)} is not a directory`,
      );
    }
    let last: Snapshot | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      last = await snapshot(paths, name, options);
      if (last.stable) break;
    }
    return last!.inspection;
  } catch (error) {
    if (error instanceof QueueError) throw error;
    throw new QueueError(
      "IO",
      `inspectQueue: cannot read the queue ${paths.head}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

interface Snapshot {
  /** False when the owner changed the files while they were read (a segment vanished, the cursor moved). */
  readonly stable: boolean;
  readonly inspection: QueueInspection;
}

async function snapshot(paths: QueuePaths, name: string, options: InspectOptions): Promise<Snapshot> {
  const cursorBefore = await readCursor(paths.cursor);
  const sealed = await listSealed(paths.dir, name);
  const initial: CursorState = {
    gen: 0,
    pos: { seq: sealed[0] ?? 1, offset: 0, index: 0 },
    acknowledged: 0,
    dropped: 0,
    quarantinedBytes: 0,
    quarantinedEvents: 0,
  };
  const cursor = cursorBefore.state ?? initial;
  const live = sealed.filter((s) => s >= cursor.pos.seq);
  const headSeq = Math.max((live[live.length - 1] ?? 0) + 1, cursor.pos.seq);

  const opened: FileHandle[] = [];
  let stable = true;
  let headExists = false;
  try {
    const segments: Segment[] = [];
    for (const seq of live) {
      const fh = await openIfExists(paths.sealed(seq));
      // Deleted since the listing: the owner acknowledged past it; take the snapshot again.
      if (fh === undefined) {
        stable = false;
        continue;
      }
      opened.push(fh);
      segments.push({ seq, fh, size: (await fh.stat()).size, sealed: true });
    }
    const headFh = await openIfExists(paths.head);
    if (headFh !== undefined) {
      headExists = true;
      opened.push(headFh);
      segments.push({ seq: headSeq, fh: headFh, size: (await headFh.stat()).size, sealed: false });
    }

    const walk = await walkSegments(segments, cursor.pos, options);

    // The owner sealed the head or acknowledged while we read: the listing or the cursor moved.
    const sealedAfter = await listSealed(paths.dir, name);
    const cursorAfter = await readCursor(paths.cursor);
    if (
      sealedAfter.join(",") !== sealed.join(",") ||
      (cursorAfter.state?.gen ?? -1) !== (cursorBefore.state?.gen ?? -1)
    ) {
      stable = false;
    }

    const now = (options.now ?? Date.now)();
    const quarantineFileBytes = await sizeOf(paths.quarantine);
    const lock = await readLock(paths.lock);
    const exists =
      headExists ||
      sealed.length > 0 ||
      cursorBefore.status !== "missing" ||
      lock !== undefined ||
      quarantineFileBytes > 0;
    const inspection: QueueInspection = {
      dir: paths.dir,
      name,
      exists,
      entries: walk.entries,
      bytes: walk.bytes,
      oldestAgeMs: walk.oldestMs === undefined ? undefined : Math.max(0, now - walk.oldestMs),
      oldestAppendMs: walk.oldestMs,
      appended: cursor.acknowledged + cursor.dropped + walk.entries,
      acknowledged: cursor.acknowledged,
      dropped: cursor.dropped,
      segments: segments.filter((s) => s.seq >= walk.start.seq).length,
      acknowledgedSegments: sealed.length - live.length,
      pendingTailBytes: walk.pendingTailBytes,
      unreadableBytes: walk.unreadableBytes,
      corruptMembers: walk.corruptMembers,
      quarantine: {
        fileBytes: quarantineFileBytes,
        bytes: cursor.quarantinedBytes,
        events: cursor.quarantinedEvents,
      },
      cursor: cursorBefore.status,
      lock,
      ...(walk.perTable === undefined ? {} : { perTable: Object.fromEntries(walk.perTable) }),
    };
    return { stable, inspection };
  } finally {
    for (const fh of opened) await fh.close().catch(() => undefined);
  }
}

interface Walk {
  start: Position;
  entries: number;
  bytes: number;
  oldestMs: number | undefined;
  pendingTailBytes: number;
  unreadableBytes: number;
  corruptMembers: number;
  perTable: Map<string, number> | undefined;
}

/**
 * Walks the members from the cursor on, as `createQueue` does when it opens the queue, but reports what
 * opening would move aside instead of moving it.
 */
async function walkSegments(
  segments: Segment[],
  cursorPos: Position,
  options: InspectOptions,
): Promise<Walk> {
  const reader = new MemberReader(resolveCodec(options.codec));
  const perTable = options.perTable ? new Map<string, number>() : undefined;
  const walk: Walk = {
    start: cursorPos,
    entries: 0,
    bytes: 0,
    oldestMs: undefined,
    pendingTailBytes: 0,
    unreadableBytes: 0,
    corruptMembers: 0,
    perTable,
  };
  let pos = cursorPos;
  const first = segments.find((s) => s.seq >= pos.seq);
  if (first === undefined) return walk;
  if (first.seq !== pos.seq) pos = { seq: first.seq, offset: 0, index: 0 };
  walk.start = pos;
  for (const seg of segments) {
    if (seg.seq < pos.seq) continue;
    // A cursor past the end (power loss under fsync "never"): opening treats it as acknowledged.
    let off = seg.seq === pos.seq ? Math.min(pos.offset, seg.size) : 0;
    const startOff = off;
    let end = seg.size;
    while (off < seg.size) {
      const m = await reader.member(seg, off, perTable !== undefined);
      if (!m.ok && m.length !== undefined && off + m.length < seg.size && m.header?.count !== undefined) {
        // A bad body behind a sound header: counted, as the owner counts it until reading quarantines it.
        walk.corruptMembers++;
        walk.entries += m.header.count;
        off += m.length;
        continue;
      }
      if (!m.ok) {
        if (seg.sealed) walk.unreadableBytes += seg.size - off;
        // The head's incomplete tail is an append in progress (or a crash's torn tail): not queued yet.
        else walk.pendingTailBytes += seg.size - off;
        end = off;
        break;
      }
      const skip = seg.seq === pos.seq && off === pos.offset ? pos.index : 0;
      if (perTable !== undefined) {
        const parsed = parseEntries(
          Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.length).toString("utf8"),
        );
        if (typeof parsed === "string") {
          walk.corruptMembers++;
          walk.entries += Math.max(0, (m.header.count ?? countEntries(m.raw)) - skip);
        } else {
          for (let i = skip; i < parsed.length; i++) {
            const table = parsed[i]!.table;
            perTable.set(table, (perTable.get(table) ?? 0) + 1);
          }
          walk.entries += Math.max(0, parsed.length - skip);
        }
      } else {
        walk.entries += Math.max(0, (m.header.count ?? countEntries(m.raw)) - skip);
      }
      // The append time of a member written by another gzip writer may be 0 (no time recorded).
      if (walk.oldestMs === undefined && m.header.mtimeMs > 0) walk.oldestMs = m.header.mtimeMs;
      off += m.length;
    }
    walk.bytes += end - startOff;
  }
  if (walk.entries === 0) walk.oldestMs = undefined;
  return walk;
}

async function readCursor(
  path: string,
): Promise<{ status: QueueInspection["cursor"]; state: CursorState | undefined }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return { status: "missing", state: undefined };
    throw error;
  }
  const state = pickSlot(buf.subarray(0, 2 * SLOT_BYTES));
  return { status: state ? "ok" : "unreadable", state };
}

async function readLock(path: string): Promise<LockOwner | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw error;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return { pid: undefined, alive: false };
  return { pid, alive: isAlive(pid) };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === "EPERM";
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return 0;
    throw error;
  }
}

function emptyInspection(dir: string, name: string): QueueInspection {
  return {
    dir,
    name,
    exists: false,
    entries: 0,
    bytes: 0,
    oldestAgeMs: undefined,
    oldestAppendMs: undefined,
    appended: 0,
    acknowledged: 0,
    dropped: 0,
    segments: 0,
    acknowledgedSegments: 0,
    pendingTailBytes: 0,
    unreadableBytes: 0,
    corruptMembers: 0,
    quarantine: { fileBytes: 0, bytes: 0, events: 0 },
    cursor: "missing",
    lock: undefined,
  };
}
