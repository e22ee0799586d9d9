// A child for the lock and file-size-limit tests.
//   hold <dir>:   open the queue, say "open", wait to be killed.
//   fill <dir>:   append until the disk refuses, then print a JSON report and close.
import { writeSync } from "node:fs";
import type { QueueError } from "../src/index.js";
import { createQueue } from "../src/index.js";

const [mode, dir] = process.argv.slice(2);
// With a file-size limit the kernel sends SIGXFSZ, which kills by default; handled, write returns EFBIG.
process.on("SIGXFSZ", () => undefined);
const queue = await createQueue({ dir: dir! });
if (mode === "hold") {
  writeSync(1, "open\n");
  setInterval(() => undefined, 1000);
} else {
  let appended = 0;
  let error: QueueError | undefined;
  for (let i = 0; i < 100_000 && !error; i++) {
    const batch = Array.from({ length: 100 }, (_, k) => ({
      table: "t",
      line: `t,k=${(appended + k) * 7919} v=${Math.random()} ${appended + k}`,
    }));
    await queue.append(batch).then(
      () => (appended += batch.length),
      (e: unknown) => (error = e as QueueError),
    );
  }
  await queue.close();
  const again = await createQueue({ dir: dir! });
  writeSync(
    1,
    JSON.stringify({ appended, code: error?.code, message: error?.message, reopened: again.stats() }),
  );
  await again.close();
}
