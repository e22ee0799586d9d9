import { stat, truncate, unlink, type FileHandle } from "node:fs/promises";
import { resolveCodec } from "./codec.js";
import { CursorFile, type CursorState, type Position } from "./cursor-file.js";
import { QueueError } from "./errors.js";
import { errnoCode, fsyncDir, mkdirPrivate, openPrivate, restrictExisting } from "./fs-util.js";
import { acquireLock } from "./lock-file.js";
import { countEntries, MemberReader } from "./member-reader.js";
import { resolveOptions, type QueueOptions } from "./options.js";
import { quarantineBytes } from "./quarantine.js";
import { DiskQueue } from "./queue.js";
import { listSealed, queuePaths, type Segment } from "./segments.js";
import type { Queue } from "./types.js";

/**
 * Opens (or creates) the queue in `options.dir`, taking its lock and recovering from any crash: a torn or
 * corrupt tail is moved to the quarantine file and reported once through `onWarning`.
 *
 * @example
 * const queue = await createQueue({ dir: "/var/lib/edr", name: "writes" });
 * await queue.append([{ table: "cpu", line: "cpu,host=a usage=1 1700000000000000000" }]);
 * const batch = await queue.read({ maxEntries: 1000 });
 * // ... send batch.entries ...
 * await queue.ack(batch);
 * await queue.close();
 */
export async function createQueue(options: QueueOptions): Promise<Queue> {
  const opts = resolveOptions(options);
  const paths = queuePaths(opts.dir, opts.name);
  await prepareDir(opts.dir);
  const releaseLock = await acquireLock(paths.lock);
  const opened: FileHandle[] = [];
  try {
    await restrictExisting(paths.quarantine);
    const sealed = await listSealed(opts.dir, opts.name);
    const initial: CursorState = {
      gen: 0,
      pos: { seq: sealed[0] ?? 1, offset: 0, index: 0 },
      acknowledged: 0,
      dropped: 0,
      quarantinedBytes: 0,
      quarantinedEvents: 0,
    };
    const {
      file: cursorFile,
      state,
      created,
    } = await CursorFile.open(paths.cursor, opts.dir, initial, opts.fsync === "always");
    if (!state && !created) {
      opts.onWarning(
        `[edr-queue] cursor file ${paths.cursor} is unreadable (both copies); reading again from the oldest entry (entries may be delivered twice)`,
      );
    }
    let cursor = state ?? initial;

    // Segments behind the cursor were acknowledged; their deletion was lost in a crash.
    for (const seq of sealed.filter((s) => s < cursor.pos.seq)) await unlink(paths.sealed(seq));
    const live = sealed.filter((s) => s >= cursor.pos.seq);
    const headSeq = Math.max((live[live.length - 1] ?? 0) + 1, cursor.pos.seq);
    const segments: Segment[] = [];
    for (const seq of live) {
      const fh = await openPrivate(paths.sealed(seq), "r");
      opened.push(fh);
      segments.push({ seq, fh, size: (await fh.stat()).size, sealed: true });
    }
    let headFh: FileHandle;
    try {
      headFh = await openPrivate(paths.head, "r+");
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") throw error;
      headFh = await openPrivate(paths.head, "wx+");
      await fsyncDir(opts.dir);
    }
    opened.push(headFh);
    segments.push({ seq: headSeq, fh: headFh, size: (await headFh.stat()).size, sealed: false });

    const reader = new MemberReader(resolveCodec(opts.codec));
    let pos: Position = cursor.pos;
    const first = segments.find((s) => s.seq >= pos.seq)!;
    if (first.seq !== pos.seq) pos = { seq: first.seq, offset: 0, index: 0 };
    let entries = 0;
    let oldestMs: number | undefined;
    let quarantined = 0;
    let events = 0;
    for (const seg of segments) {
      if (seg.seq < pos.seq) continue;
      let off = seg.seq === pos.seq ? pos.offset : 0;
      if (off > seg.size) {
        opts.onWarning(
          `[edr-queue] cursor points past the end of ${seg.sealed ? paths.sealed(seg.seq) : paths.head} (a power loss with fsync "${opts.fsync}"?); treating it as acknowledged`,
        );
        off = seg.size;
        pos = { seq: seg.seq, offset: off, index: 0 };
      }
      while (off < seg.size) {
        let m = await reader.member(seg, off, false);
        if (m.ok && !seg.sealed && off + m.length === seg.size) {
          // A crash can tear only the last member of the head: its CRC is checked now. The others were
          // written whole before it (bit rot in them is found, and quarantined, when they are read), so
          // opening costs one header read per member instead of inflating the whole head.
          m = await reader.member(seg, off, true);
        }
        if (!m.ok && m.length !== undefined && off + m.length < seg.size && m.header?.count !== undefined) {
          // A corrupt member with a sound header, inside the file: later members are still good. It
          // stays counted; reading quarantines it and moves past it.
          entries += m.header.count;
          off += m.length;
          continue;
        }
        if (!m.ok) {
          const file = seg.sealed ? paths.sealed(seg.seq) : paths.head;
          const bytes = seg.size - off;
          await quarantineBytes(paths.quarantine, reader, seg, file, off, bytes, m.reason);
          await fsyncDir(opts.dir);
          await truncate(file, off);
          if (!seg.sealed) await seg.fh.sync();
          reader.reset();
          seg.size = off;
          quarantined += bytes;
          events++;
          opts.onWarning(
            `[edr-queue] quarantined ${bytes} bytes of ${file} at offset ${off} (${m.reason}) into ${paths.quarantine}`,
          );
          break;
        }
        let n = m.header.count ?? countEntries(m.raw);
        if (seg.seq === pos.seq && off === pos.offset) {
          n = Math.max(0, n - pos.index);
          oldestMs = m.header.mtimeMs;
        }
        oldestMs ??= m.header.mtimeMs;
        entries += n;
        off += m.length;
      }
    }
    if (events > 0 || pos !== cursor.pos) {
      cursor = {
        ...cursor,
        gen: cursor.gen + 1,
        pos,
        quarantinedBytes: cursor.quarantinedBytes + quarantined,
        quarantinedEvents: cursor.quarantinedEvents + events,
      };
      await cursorFile.write(cursor);
      await cursorFile.sync();
    }
    return new DiskQueue({
      paths,
      options: opts,
      segments,
      cursorFile,
      cursor,
      entries,
      oldestMs: entries > 0 ? oldestMs : undefined,
      releaseLock,
    });
  } catch (error) {
    for (const fh of opened) await fh.close().catch(() => undefined);
    await releaseLock();
    if (error instanceof QueueError) throw error;
    throw new QueueError(
      "IO",
      `createQueue: cannot open the queue ${paths.head}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

async function prepareDir(dir: string): Promise<void> {
  const fail = (what: string, error?: unknown): QueueError =>
    new QueueError(
      "IO",
      `createQueue: dir ${JSON.stringify(dir)}: expected a directory we can use, ${what}`,
      {
        cause: error,
      },
    );
  const existing = await stat(dir).catch((error: unknown) => {
    if (errnoCode(error) === "ENOENT") return undefined;
    throw fail(`got ${(error as Error).message}`, error);
  });
  if (existing && !existing.isDirectory()) throw fail("got a file that is not a directory (ENOTDIR)");
  if (!existing) {
    await mkdirPrivate(dir).catch((error: unknown) => {
      throw fail(`could not create it: ${(error as Error).message}`, error);
    });
  }
}
