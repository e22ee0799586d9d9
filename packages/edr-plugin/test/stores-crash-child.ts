// Child process of the crash tests of dead-letters.ts and watermarks.ts: writes in a loop until the parent
// kills it with SIGKILL, printing one line per write that resolved (stdout to a pipe is synchronous on Linux,
// so a printed line was durable before the kill).
//   node --import tsx stores-crash-child.ts dead-letters <dir> <maxBytes>
//   node --import tsx stores-crash-child.ts watermarks <dir>
import { createDeadLetterStore } from "../src/dead-letters.js";
import { createWatermarkStore } from "../src/watermarks.js";
import { letterFor } from "./stores-letters.js";

const [kind, dir, maxBytes] = process.argv.slice(2);

if (kind === "dead-letters") {
  const store = await createDeadLetterStore({ dir: dir!, queueName: "crash", maxBytes: Number(maxBytes) });
  // Start a few ordinals back, as a replicator re-sending its last unacknowledged batch after a crash does.
  let next = Math.max(0, (store.highestOrdinal() ?? -1) + 1 - 5);
  process.stdout.write("ready\n");
  for (;;) {
    const count = 1 + (next % 17);
    const letters = Array.from({ length: count }, (_, i) => letterFor(next + i));
    await store.append(letters);
    next += count;
    process.stdout.write(`appended ${next - 1}\n`);
  }
} else if (kind === "watermarks") {
  const store = await createWatermarkStore({ dir: dir!, name: "crash" });
  let value = store.get("t") ?? 0n;
  process.stdout.write("ready\n");
  for (;;) {
    value++;
    await store.set("t", value);
    process.stdout.write(`set ${value}\n`);
  }
} else {
  throw new Error(`unknown kind ${kind}`);
}
