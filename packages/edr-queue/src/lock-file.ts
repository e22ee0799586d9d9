import { readFile, rename, unlink } from "node:fs/promises";
import { QueueError } from "./errors.js";
import { errnoCode, openPrivate } from "./fs-util.js";

/**
 * Takes the queue's lock file (created with O_EXCL, holding our pid). A lock whose pid is alive is an
 * error naming that pid; a lock left by a dead process is taken over. Returns a function that releases it.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await openPrivate(path, "wx");
      try {
        await fh.writeFile(`${process.pid}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") {
        throw new QueueError("IO", `cannot create lock file ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const text = await readFile(path, "utf8").catch(() => "");
    const pid = Number.parseInt(text.trim(), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) {
      const who = pid === process.pid ? "this process (already open)" : `process ${pid}`;
      throw new QueueError("LOCKED", `queue is locked by ${who}: lock file ${path}`);
    }
    // Stale (dead pid, or empty: the owner died between create and write). Move it aside under a
    // name of our own, so that two processes taking over at once cannot both delete a fresh lock:
    // only one rename of a given file succeeds, and the O_EXCL create decides the race after it.
    const aside = `${path}.stale.${process.pid}`;
    try {
      await rename(path, aside);
      const moved = await readFile(aside, "utf8").catch(() => "");
      const movedPid = Number.parseInt(moved.trim(), 10);
      if (movedPid !== pid && Number.isSafeInteger(movedPid) && movedPid > 0 && isAlive(movedPid)) {
        // We moved someone's fresh lock: give it back and report the owner.
        await rename(aside, path);
        throw new QueueError("LOCKED", `queue is locked by process ${movedPid}: lock file ${path}`);
      }
      await unlink(aside);
    } catch (error) {
      if (error instanceof QueueError) throw error;
      if (errnoCode(error) !== "ENOENT") throw error;
    }
  }
  throw new QueueError("LOCKED", `could not take the lock file ${path} after 5 attempts`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === "EPERM";
  }
}
