import { chmod, mkdir, open, stat, type FileHandle } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";

/** Mode of every file the queue creates (segments, cursor, lock, quarantine): the entries are the user's data. */
export const FILE_MODE = 0o600;
/** Mode of a queue directory the queue creates (an existing one is left as it is). */
export const DIR_MODE = 0o700;

/**
 * Opens (or creates) a queue file with mode 0600 whatever the umask: a file created now, a temp file left by a
 * crash (`open` keeps an existing file's mode) or one an older version or a person made wider is set to 0600.
 * A file that is not ours to change (EPERM) or on a read-only file system (EROFS) is left as it is.
 */
export async function openPrivate(path: string, flags: string): Promise<FileHandle> {
  const fh = await open(path, flags, FILE_MODE);
  try {
    if (((await fh.stat()).mode & 0o777) !== FILE_MODE) await fh.chmod(FILE_MODE);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "EPERM" && code !== "EROFS") {
      await fh.close().catch(() => undefined);
      throw error;
    }
  }
  return fh;
}

/** Sets an existing file that is not 0600 to 0600 (a file opened only when needed, e.g. the quarantine). */
export async function restrictExisting(path: string): Promise<void> {
  try {
    if (((await stat(path)).mode & 0o777) !== FILE_MODE) await chmod(path, FILE_MODE);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "ENOENT" && code !== "EPERM" && code !== "EROFS") throw error;
  }
}

/** Creates `dir` and its missing parents with mode 0700 whatever the umask; an existing directory is left alone. */
export async function mkdirPrivate(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  let created = first;
  await chmod(created, DIR_MODE);
  for (const part of relative(first, resolve(dir))
    .split(sep)
    .filter((p) => p !== "")) {
    created = join(created, part);
    await chmod(created, DIR_MODE);
  }
}

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
