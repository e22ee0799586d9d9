import { join } from "node:path";
import { readdir, type FileHandle } from "node:fs/promises";

/** One segment file. The head (the seed's file name) takes appends; sealed ones only shrink by deletion. */
export interface Segment {
  readonly seq: number;
  fh: FileHandle;
  /** Bytes of whole, verified members; the reader never looks past it. */
  size: number;
  sealed: boolean;
}

/** File names of one queue: the seed's head file plus side files sharing its prefix. */
export interface QueuePaths {
  readonly dir: string;
  readonly head: string;
  readonly cursor: string;
  readonly lock: string;
  readonly quarantine: string;
  sealed(seq: number): string;
}

export function queuePaths(dir: string, name: string): QueuePaths {
  const prefix = join(dir, `edr_queue_${name}`);
  return {
    dir,
    head: `${prefix}.jsonl.gz`,
    cursor: `${prefix}.cursor`,
    lock: `${prefix}.lock`,
    quarantine: `${prefix}.quarantine`,
    sealed: (seq) => `${prefix}.${String(seq).padStart(6, "0")}.jsonl.gz`,
  };
}

/** Sequence numbers of the sealed segments in `dir`, ascending. */
export async function listSealed(dir: string, name: string): Promise<number[]> {
  const pattern = new RegExp(`^edr_queue_${name}\\.(\\d{6,})\\.jsonl\\.gz$`);
  const seqs: number[] = [];
  for (const entry of await readdir(dir)) {
    const m = pattern.exec(entry);
    if (m) seqs.push(Number(m[1]));
  }
  return seqs.sort((a, b) => a - b);
}
