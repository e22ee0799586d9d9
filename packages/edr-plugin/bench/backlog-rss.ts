// Peak memory of `edr queue drain` sending a large backlog: BACKLOG lines (default 5,000,000, onwrite-data.ts'
// lines, about 130 bytes each) are appended to an on-write queue with edr-queue directly (fsync "never": a
// setup step, not timed as edr's), then the real command, in a child process, drains a copy of that queue
// to a remote edr-testkit server in its own process (its memory, every line it stores, is not edr's). The
// child's VmRSS is read from /proc every 100 ms, and its VmHWM (the kernel's high-water mark) just before it
// exits. Beside it the floor: the same command draining an empty queue (start-up, modules, open queues).
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQueue } from "edr-queue";
import { fileURLToPath } from "node:url";
import { startEdr } from "./edr-process.js";
import { benchLine, REMOTE_DB } from "./onwrite-data.js";
import type { ServerProcess } from "./server-client.js";

const MB = 1024 * 1024;
const DRAIN_CHILD = fileURLToPath(new URL("./drain-child.ts", import.meta.url));
const APPEND_LINES = 10_000;
const SAMPLE_MS = 100;

/** One drain's memory and time. */
export interface DrainMemory {
  delivered: number;
  seconds: number;
  /** Largest VmRSS sampled, MB. */
  peakRssMb: number;
  /** VmHWM at the last sample, MB. */
  hwmMb: number;
}

/** Appends `lines` lines to a new on-write queue (`writes`) in a new directory; returns the directory. */
export async function buildBacklog(lines: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-backlog-"));
  const queue = await createQueue({ dir, name: "writes", fsync: "never" });
  try {
    for (let from = 0; from < lines; from += APPEND_LINES) {
      const entries = [];
      for (let i = from; i < Math.min(lines, from + APPEND_LINES); i++) {
        const line = benchLine(i, true);
        entries.push({ table: line.slice(0, line.indexOf(",")), line });
      }
      await queue.append(entries);
    }
  } finally {
    await queue.close();
  }
  return dir;
}

/** VmRSS and VmHWM of a process, kB (Linux `/proc`); undefined once it is gone. */
export async function readStatusKb(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text)?.[1];
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text)?.[1];
  return rss === undefined || hwm === undefined ? undefined : { rss: Number(rss), hwm: Number(hwm) };
}

/** A copy of the backlog in a new directory (a drain empties the queue it is given). */
async function copyBacklog(backlogDir: string | undefined): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-drain-"));
  if (backlogDir !== undefined) await cp(backlogDir, dir, { recursive: true });
  return dir;
}

/**
 * Drains a copy of the backlog in drain-child.ts, which splits its memory by kind; returns the JSON line it
 * prints (see there). `collect`: a full collection every second, to read the live heap.
 */
export async function drainBreakdown(
  backlogDir: string,
  remote: ServerProcess,
  extraArguments: string,
  collect: boolean,
): Promise<string> {
  await remote.call({ op: "reset" });
  const dir = await copyBacklog(backlogDir);
  try {
    const child = startEdr([remote.url, dir, extraArguments, collect ? "gc" : ""], DRAIN_CHILD);
    const { code } = await child.exited;
    const last = child.log().trim().split("\n").at(-1) ?? "";
    if (code !== 0) throw new Error(`drain-child exited ${code}:\n${child.log()}`);
    return last;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `edr queue drain` on a copy of the queue in `backlogDir` (or on an empty queue when undefined), sending
 * to `remote`, with `extraArguments` appended to the trigger arguments (`batch_bytes=…`); samples its memory.
 * `bin`: a built `edr` to run instead of the source.
 */
export async function drainWithMemory(
  backlogDir: string | undefined,
  remote: ServerProcess,
  extraArguments = "",
  bin?: string,
): Promise<DrainMemory> {
  await remote.call({ op: "reset" });
  const dir = await copyBacklog(backlogDir);
  try {
    const started = performance.now();
    const edr = startEdr(
      [
        "queue",
        "drain",
        "--trigger-arguments",
        `host=${remote.url},database=${REMOTE_DB}${extraArguments}`,
        "--queue-dir",
        dir,
      ],
      undefined,
      bin,
    );
    let peakKb = 0;
    let hwmKb = 0;
    while (!edr.ended()) {
      const sample = await readStatusKb(edr.pid);
      if (sample !== undefined) {
        peakKb = Math.max(peakKb, sample.rss);
        hwmKb = Math.max(hwmKb, sample.hwm);
      }
      await Promise.race([edr.exited, new Promise((resolve) => setTimeout(resolve, SAMPLE_MS))]);
    }
    const { code } = await edr.exited;
    const seconds = (performance.now() - started) / 1000;
    const delivered = /delivered ([\d,]+)/.exec(edr.log())?.[1];
    if (code !== 0 || delivered === undefined)
      throw new Error(`edr queue drain exited ${code}:\n${edr.log()}`);
    return {
      delivered: Number(delivered.replaceAll(",", "")),
      seconds,
      peakRssMb: (peakKb * 1024) / MB,
      hwmMb: (hwmKb * 1024) / MB,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
