import { open, type FileHandle } from "node:fs/promises";

/** fsyncs a directory, so that a file created, renamed or removed in it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The errno code of a system error, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Writes all of `buffers` at `position`. `writev` may write only part (a file-size limit, a full disk
 * reached mid-way); the rest is retried, so a failure surfaces as the error of the write that failed.
 */
export async function writeFully(
  fh: FileHandle,
  buffers: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let { bytesWritten } = await fh.writev(buffers as Uint8Array[], position);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(buffers).subarray(bytesWritten);
  for (let done = 0; done < rest.length;) {
    ({ bytesWritten } = await fh.write(rest, done, rest.length - done, position + bytesWritten + done));
    if (bytesWritten === 0) throw Object.assign(new Error("write made no progress"), { code: "EIO" });
    done += bytesWritten;
  }
}
