// A child process for the crash tests: appends, reads and acknowledges forever, reporting on stdout
// (a pipe, written synchronously) before and after each step, until the parent kills it with SIGKILL.
//   A <from> <count>  append started        a <from> <count>  append resolved
//   K <last id>       ack started           k <last id>       ack resolved
//   R                 a drained head is being reclaimed (self-kill mode "reclaim")
import { writeSync } from "node:fs";
import { createQueue, type QueueEntry } from "../src/index.js";

const [dir, nextIdArg, seedArg, fsync, selfKill, thresholdArg] = process.argv.slice(2);
// Self-kill modes: SIGKILL ourselves from a setImmediate right after the n-th append or ack starts,
// which lands while its write or fsync is running on libuv's thread pool (a torn write).
let countdown = selfKill === "reclaim" ? 1 : Number(thresholdArg);
const maybeKill = (step: string): void => {
  if (step === selfKill && --countdown === 0) setImmediate(() => process.kill(process.pid, "SIGKILL"));
};
let seed = Number(seedArg);
const random = (): number => {
  // mulberry32: reproducible runs from the seed the parent prints on failure
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const say = (line: string): void => void writeSync(1, line + "\n");
const entryOf = (id: number): QueueEntry => ({
  table: "cpu",
  line: `cpu,host=server${id % 50},region=eu-west-1 usage_user=${id % 997},usage_system=${id}i 1700000000000000000`,
});
const idOf = (e: QueueEntry): number => Number(/usage_system=(\d+)i/.exec(e.line)![1]);

const queue = await createQueue({
  dir: dir!,
  fsync: fsync as "always" | "never",
  segmentBytes: 16 * 1024,
  reclaimBytes: 4 * 1024,
});
say("open");
let nextId = Number(nextIdArg);

const appendOne = async (): Promise<void> => {
  const count = 1 + Math.floor(random() * (random() < 0.1 ? 1000 : 30));
  const from = nextId;
  nextId += count;
  const batch = Array.from({ length: count }, (_, k) => entryOf(from + k));
  say(`A ${from} ${count}`);
  const done = queue.append(batch);
  maybeKill("append");
  await done;
  say(`a ${from} ${count}`);
};

for (;;) {
  const r = random();
  if (r < 0.45) {
    // Several appends at once: group commit puts them in one member.
    const n = 1 + Math.floor(random() * 3);
    await Promise.all(Array.from({ length: n }, appendOne));
  } else {
    const batch = await queue.read({ maxEntries: 1 + Math.floor(random() * 1500) });
    if (batch.entries.length === 0) continue;
    if (random() < 0.1) {
      queue.rewind(); // a failed send: read the same entries again
      continue;
    }
    const last = idOf(batch.entries[batch.entries.length - 1]!);
    say(`K ${last}`);
    const done = queue.ack(batch);
    maybeKill("ack");
    await done;
    say(`k ${last}`);
    if (selfKill === "reclaim" && queue.stats().entries === 0) {
      // Fully drained: the head is being sealed and deleted right now, in the background.
      say("R");
      maybeKill("reclaim");
    }
  }
}
