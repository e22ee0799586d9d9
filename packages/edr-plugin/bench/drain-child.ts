// What a drain's memory is made of. Does `edr queue drain`'s work (createReplicator on the on-write queue in
// <queue dir>, then `drain()`) in this process, so that the RSS can be split: `process.memoryUsage()` (V8's
// heap, external memory, array buffers) and /proc/self/smaps (V8's heap pages, malloc's `[heap]`, mapped
// files, other anonymous memory), sampled every 100 ms. Run by the catch-up bench with
// EDR_BENCH_RSS_BREAKDOWN=1 (stderr only, no figure); e2e.peak_rss_mb itself is the command's.
// argv: remote URL, queue dir, extra trigger arguments (`,batch_bytes=…`, or ""), and `gc` for a full
// collection every second, to read the live heap (it slows the drain).
// Prints one JSON line: the drain's report; each part in MB at the sample of the largest RSS; the most of each
// part over the run; and, with `gc`, the largest live heap and the largest RSS right after a collection.
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parseWritesConfig } from "edr-args";
import { silentLogger } from "../src/logger.js";
import { createReplicator } from "../src/replicator.js";
import { REMOTE_DB, REMOTE_TOKEN } from "./onwrite-data.js";

const MB = 1024 * 1024;
const PARTS = ["rss", "heapTotal", "heapUsed", "external", "arrayBuffers"] as const;
const [remoteUrl, queueDir, extra = "", gcMode = ""] = process.argv.slice(2);
if (remoteUrl === undefined || queueDir === undefined)
  throw new Error("[edr-plugin bench] drain-child: <remote url> <queue dir> [,arguments] [gc]");
let collect: (() => void) | undefined;
if (gcMode === "gc") {
  setFlagsFromString("--expose-gc");
  collect = runInNewContext("gc") as () => void;
}

const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** Resident MB by kind of mapping: V8 reserves its heap in 256 KiB-aligned anonymous chunks. */
function residentByMapping(): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = "";
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping !== null) {
      const kb = (parseInt(mapping[2]!, 16) - parseInt(mapping[1]!, 16)) / 1024;
      const name = mapping[3]!;
      if (name === "[heap]") kind = "malloc_heap";
      else if (name.startsWith("/")) kind = "files";
      else if (name === "") kind = kb % 256 === 0 ? "anon_256k_chunks" : "anon_other";
      else kind = "other";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[kind] = (out[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  return Object.fromEntries(Object.entries(out).map(([key, value]) => [key, Math.round(value)]));
}

const config = parseWritesConfig(
  `host=${remoteUrl},token=${REMOTE_TOKEN},database=${REMOTE_DB},queue_dir=${queueDir}${extra}`,
  { env: {} },
);
const replicator = await createReplicator(config, { logger: silentLogger });
try {
  const atStart = residentByMapping();
  let peak = process.memoryUsage();
  let peakMappings = atStart;
  const most: Record<string, number> = { ...peak, liveHeap: 0, rssAfterGc: 0 };
  let ticks = 0;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > peak.rss) {
      peak = now;
      peakMappings = residentByMapping();
    }
    for (const key of PARTS) most[key] = Math.max(most[key]!, now[key]);
    if (collect !== undefined && ++ticks % 10 === 0) {
      collect();
      const after = process.memoryUsage();
      most.liveHeap = Math.max(most.liveHeap!, after.heapUsed);
      most.rssAfterGc = Math.max(most.rssAfterGc!, after.rss);
    }
  }, 100);
  const started = performance.now();
  const report = await replicator.drain();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  process.stdout.write(
    JSON.stringify({
      delivered: report.delivered,
      seconds: Math.round(seconds * 10) / 10,
      atPeak: { ...Object.fromEntries(PARTS.map((key) => [key, mb(peak[key])])), mappings: peakMappings },
      most: Object.fromEntries(Object.entries(most).map(([key, bytes]) => [key, mb(bytes)])),
      mappingsAtStart: atStart,
    }) + "\n",
  );
} finally {
  await replicator.close();
}
