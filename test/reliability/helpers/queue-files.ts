// The files edr keeps beside its queue: dead letters (lines the remote refused), late letters (on-write
// downsampling: points for buckets already sent) and the queue's quarantine (a torn tail moved aside).
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

export interface QueueDirFiles {
  /** Every file with its size, by name. */
  readonly sizes: Record<string, number>;
  /** Bytes in dead-letter files (rotated ones included), late letters apart. */
  readonly deadLetterBytes: number;
  /** Bytes in late-letter files. */
  readonly lateLetterBytes: number;
  /** Bytes in quarantine files. */
  readonly quarantineBytes: number;
}

/** Reads the queue directory (no edr needs to be stopped: only sizes are read). */
export async function readQueueDir(dir: string): Promise<QueueDirFiles> {
  const sizes: Record<string, number> = {};
  let deadLetterBytes = 0;
  let lateLetterBytes = 0;
  let quarantineBytes = 0;
  for (const name of (await readdir(dir)).sort()) {
    const size = (await stat(join(dir, name))).size;
    sizes[name] = size;
    if (name.startsWith("edr_dead_letter_") && name.includes("_late")) lateLetterBytes += size;
    else if (name.startsWith("edr_dead_letter_")) deadLetterBytes += size;
    if (name.includes("quarantine")) quarantineBytes += size;
  }
  return { sizes, deadLetterBytes, lateLetterBytes, quarantineBytes };
}
