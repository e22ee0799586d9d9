import { openPrivate } from "./fs-util.js";
import type { MemberReader } from "./member-reader.js";
import type { Segment } from "./segments.js";

/** What was moved aside: where it came from, how many bytes, and why. */
export interface QuarantineEvent {
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
}

/**
 * Appends the unreadable bytes [offset, offset + length) of a segment to the quarantine file, after a
 * one-line text header saying where they came from and why, and fsyncs it. The bytes are kept as they
 * were, so a person (or a later version) can still try to recover them.
 */
export async function quarantineBytes(
  quarantinePath: string,
  reader: MemberReader,
  seg: Segment,
  segmentPath: string,
  offset: number,
  length: number,
  reason: string,
): Promise<QuarantineEvent> {
  const fh = await openPrivate(quarantinePath, "a");
  try {
    const head = `# edr-queue quarantine ${new Date().toISOString()} file=${segmentPath} offset=${offset} bytes=${length} reason=${JSON.stringify(reason)}\n`;
    await fh.write(head);
    for (let done = 0; done < length;) {
      const chunk = await reader.bytes(seg, offset + done, Math.min(length - done, 1 << 20));
      if (chunk.length === 0) break;
      await fh.write(chunk);
      done += chunk.length;
    }
    await fh.write("\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { file: segmentPath, offset, bytes: length, reason };
}
