// Drains a queue in its own process and reports peak RSS, so the figure is not the benchmark's own.
import { createQueue } from "../src/index.js";

const [dir, codec] = process.argv.slice(2);
const baseline = process.memoryUsage().rss;
const queue = await createQueue({ dir: dir!, codec: codec as "zlib" | "fflate" });
let drained = 0;
const started = performance.now();
for (;;) {
  const batch = await queue.read({ maxEntries: 1000 });
  if (batch.entries.length === 0) break;
  drained += batch.entries.length;
  await queue.ack(batch);
}
const seconds = (performance.now() - started) / 1000;
await queue.close();
process.stdout.write(
  JSON.stringify({
    drained,
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    baselineRssMb: baseline / 1024 / 1024,
  }),
);
