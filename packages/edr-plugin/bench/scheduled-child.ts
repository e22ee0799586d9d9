// One scheduled call in a process of its own, so that its peak memory is the replicator's and not the
// bench's (which holds a million lines for the baselines). Forked by scheduled.ts with argv: local URL,
// remote URL, hours. Samples RSS every 100 ms while the call runs and sends one `MemoryReport` over IPC.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../src/logger.js";
import { createReplicator } from "../src/replicator.js";
import { benchCallTime, benchConfig } from "./scheduled-data.js";

/** What the child reports. */
export interface MemoryReport {
  replicated: number;
  seconds: number;
  /** RSS once the replicator is open, before the call. */
  baselineRssMb: number;
  /** Largest RSS sampled during the call. */
  peakRssMb: number;
  /** The kernel's high-water mark of the process's RSS (VmHWM), start-up included. */
  hwmRssMb: number;
}

const MB = 1024 * 1024;

async function vmHwmMb(): Promise<number> {
  const status = await readFile("/proc/self/status", "utf8").catch(() => "");
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) / 1024;
}

const [localUrl, remoteUrl, hoursText] = process.argv.slice(2);
if (process.send === undefined || localUrl === undefined || remoteUrl === undefined) {
  throw new Error("[edr-plugin bench] scheduled-child must be forked with IPC: <local> <remote> <hours>");
}
const hours = Number(hoursText);
const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-mem-"));
try {
  const replicator = await createReplicator(benchConfig(localUrl, remoteUrl, dir, hours), {
    logger: silentLogger,
  });
  try {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    const started = performance.now();
    const report = await replicator.processScheduledCall(benchCallTime(hours));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (report.errors.length > 0) throw new Error(`the call failed: ${report.errors.join("; ")}`);
    const result: MemoryReport = {
      replicated: report.replicated,
      seconds,
      baselineRssMb: baseline / MB,
      peakRssMb: peak / MB,
      hwmRssMb: await vmHwmMb(),
    };
    process.send(result);
  } finally {
    await replicator.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.disconnect();
