import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { buildForChild } from "../test/build-child.js";
import { entries, tempDir } from "../test/helpers.js";
import { createQueue, inspectQueue, type QueueEntry } from "./index.js";

const HEAD = "edr_queue_writes.jsonl.gz";

/** Every file of the queue directory with its bytes, to prove that inspecting changed nothing. */
function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = readFileSync(join(dir, name)).toString("base64");
  return out;
}

function perTableOf(list: readonly QueueEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of list) out[e.table] = (out[e.table] ?? 0) + 1;
  return out;
}

describe("inspectQueue", () => {
  it("reports nothing, and creates nothing, for an empty or missing directory", async () => {
    const dir = tempDir();
    const empty = await inspectQueue({ dir, perTable: true });
    expect(empty).toMatchObject({
      exists: false,
      entries: 0,
      bytes: 0,
      oldestAgeMs: undefined,
      segments: 0,
      lock: undefined,
      cursor: "missing",
      perTable: {},
    });
    expect(readdirSync(dir)).toEqual([]);
    const missing = await inspectQueue({ dir: join(dir, "nope", "deeper") });
    expect(missing.exists).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("agrees with stats() of the queue open in this process, after acks, and writes nothing", async () => {
    const dir = tempDir();
    let now = 1_000_000;
    const q = await createQueue({ dir, segmentBytes: 4096 });
    try {
      const all = entries(0, 300);
      for (let i = 0; i < 300; i += 30) await q.append(all.slice(i, i + 30));
      const b1 = await q.read({ maxEntries: 45 }); // ends inside a member: the cursor's index is used
      await q.ack(b1);
      const b2 = await q.read({ maxEntries: 100 });
      await q.ack(b2);
      const before = snapshotDir(dir);
      now = Date.now();
      const info = await inspectQueue({ dir, perTable: true, now: () => now });
      const stats = q.stats();
      expect(info.entries).toBe(stats.entries);
      expect(info.entries).toBe(155);
      expect(info.bytes).toBe(stats.bytes);
      expect(info.segments).toBe(stats.segments);
      expect(info.segments).toBeGreaterThan(1);
      expect(info.acknowledged).toBe(145);
      expect(info.appended).toBe(300);
      expect(info.perTable).toEqual(perTableOf(all.slice(145)));
      expect(info.oldestAgeMs).toBeGreaterThanOrEqual(0);
      expect(info.oldestAgeMs).toBeLessThan(60_000);
      expect(info.lock).toEqual({ pid: process.pid, alive: true });
      expect(info.cursor).toBe("ok");
      expect(info.pendingTailBytes).toBe(0);
      expect(snapshotDir(dir)).toEqual(before);

      // Without perTable: the same counts from the headers alone.
      const quick = await inspectQueue({ dir });
      expect(quick.entries).toBe(155);
      expect(quick.perTable).toBeUndefined();

      // Drained: nothing left, the lock still ours.
      for (;;) {
        const b = await q.read({ maxEntries: 1000 });
        if (b.entries.length === 0) break;
        await q.ack(b);
      }
      const drained = await inspectQueue({ dir, perTable: true });
      expect(drained).toMatchObject({ entries: 0, oldestAgeMs: undefined, acknowledged: 300, perTable: {} });
    } finally {
      await q.close();
    }
    const closed = await inspectQueue({ dir });
    expect(closed.lock).toBeUndefined();
    expect(closed.exists).toBe(true);
  });

  it("treats an incomplete member at the end of the head as being written, and moves nothing aside", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir });
    await q.append(entries(0, 10));
    await q.append(entries(10, 10));
    await q.close();
    const head = join(dir, HEAD);
    const whole = readFileSync(head);
    // Another append, cut at every length: what a reader sees while a writer is mid-write.
    const q2 = await createQueue({ dir });
    await q2.append(entries(20, 10));
    await q2.close();
    const third = readFileSync(head).subarray(whole.length);
    for (const cut of [1, 9, 10, 31, 32, 33, third.length - 8, third.length - 1]) {
      writeFileSync(head, Buffer.concat([whole, third.subarray(0, cut)]));
      const before = snapshotDir(dir);
      const info = await inspectQueue({ dir, perTable: true });
      expect(info, `cut at ${cut}`).toMatchObject({
        entries: 20,
        pendingTailBytes: cut,
        unreadableBytes: 0,
        quarantine: { fileBytes: 0 },
      });
      expect(info.bytes).toBe(whole.length);
      expect(snapshotDir(dir)).toEqual(before);
    }
  });

  it("reads a queue that another process holds open and appends to", async () => {
    const dir = tempDir();
    const built = buildForChild("inspect", []);
    const index = pathToFileURL(join(built, "src", "index.js")).href;
    // The child appends 20 entries at a time until stdin closes, then closes the queue and prints its stats.
    const script = `
      import { createQueue } from ${JSON.stringify(index)};
      const q = await createQueue({ dir: ${JSON.stringify(dir)}, segmentBytes: 8192 });
      let i = 0, stop = false;
      process.stdin.on("end", () => (stop = true)).resume();
      process.stdout.write("open\\n");
      while (!stop) {
        await q.append(Array.from({ length: 20 }, (_, k) => ({ table: "t" + ((i + k) % 3), line: "t v=" + (i + k) })));
        i += 20;
        if (i === 200) process.stdout.write("200\\n");
        await new Promise((r) => setTimeout(r, 1));
      }
      const stats = q.stats();
      await q.close();
      process.stdout.write(JSON.stringify(stats) + "\\n");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe("open");
    expect((await lines.next()).value).toBe("200");
    let last = 0;
    for (let k = 0; k < 20; k++) {
      const info = await inspectQueue({ dir, perTable: k % 2 === 0 });
      expect(info.lock).toEqual({ pid: child.pid, alive: true });
      expect(info.entries % 20).toBe(0);
      expect(info.entries).toBeGreaterThanOrEqual(last);
      expect(info.unreadableBytes).toBe(0);
      expect(info.quarantine.fileBytes).toBe(0);
      if (info.perTable) {
        const sum = Object.values(info.perTable).reduce((a, b) => a + b, 0);
        expect(sum).toBe(info.entries);
      }
      last = info.entries;
    }
    child.stdin.end();
    const stats = JSON.parse((await lines.next()).value as string) as { entries: number; bytes: number };
    const final = await inspectQueue({ dir });
    expect(final.entries).toBe(stats.entries);
    expect(final.bytes).toBe(stats.bytes);
    expect(final.lock).toBeUndefined();
    expect(readdirSync(dir).some((f) => f.endsWith(".quarantine"))).toBe(false);
  });

  it("names a lock whose owner is gone as not alive", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir });
    await q.append(entries(0, 3));
    await q.close();
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => dead.on("exit", r));
    writeFileSync(join(dir, "edr_queue_writes.lock"), `${dead.pid}\n`);
    const info = await inspectQueue({ dir });
    expect(info.lock).toEqual({ pid: dead.pid, alive: false });
    expect(info.entries).toBe(3);
  });

  it("reads a file written by Python's gzip module, and reports the quarantine file's size", async () => {
    const dir = tempDir();
    const file = join(dir, "edr_queue_schedule.jsonl.gz");
    const sessions = [entries(0, 5), entries(5, 7)];
    const script = `
import gzip, json, sys
for session in json.load(sys.stdin):
    with gzip.open(sys.argv[1], "at") as f:
        for entry in session:
            f.write(json.dumps(entry) + "\\n")
`;
    execFileSync("python3", ["-c", script, file], { input: JSON.stringify(sessions) });
    appendFileSync(join(dir, "edr_queue_schedule.quarantine"), "# edr-queue quarantine x\nabc\n");
    const before = snapshotDir(dir);
    const info = await inspectQueue({ dir, name: "schedule", perTable: true });
    expect(info).toMatchObject({
      exists: true,
      entries: 12,
      bytes: statSync(file).size,
      segments: 1,
      cursor: "missing",
      lock: undefined,
      perTable: perTableOf(sessions.flat()),
      pendingTailBytes: 0,
    });
    expect(info.quarantine.fileBytes).toBe(29);
    expect(info.oldestAgeMs).toBeLessThan(120_000);
    expect(snapshotDir(dir)).toEqual(before);

    // And it agrees with the queue once opened.
    const q = await createQueue({ dir, name: "schedule" });
    expect(q.stats().entries).toBe(12);
    await q.close();
  });

  it("refuses a name that cannot be a queue's", async () => {
    await expect(inspectQueue({ dir: tempDir(), name: "../x" })).rejects.toThrow(
      /^\[edr-queue\] inspectQueue: name: expected letters, digits, _ and -, got "\.\.\/x"$/,
    );
  });
});
