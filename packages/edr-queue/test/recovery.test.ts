import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createQueue, type Queue } from "../src/index.js";
import { entries, indexOf, tempDir } from "./helpers.js";

const HEAD = "edr_queue_writes.jsonl.gz";

async function drainAll(q: Queue): Promise<number[]> {
  const seen: number[] = [];
  for (;;) {
    const batch = await q.read({ maxEntries: 1000 });
    if (batch.entries.length === 0) return seen;
    seen.push(...batch.entries.map(indexOf));
    await q.ack(batch);
  }
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => from + k);

/** A queue with three appends of 10 entries; returns the byte offsets where each member starts. */
async function threeMembers(dir: string): Promise<number[]> {
  const q = await createQueue({ dir });
  const starts: number[] = [];
  for (let i = 0; i < 3; i++) {
    starts.push(statSync(join(dir, HEAD)).size);
    await q.append(entries(i * 10, 10));
  }
  await q.close();
  return starts;
}

describe("recovery on open", () => {
  it("keeps the good prefix of a torn last member and quarantines the rest, reported once", async () => {
    const dir = tempDir();
    const starts = await threeMembers(dir);
    const size = statSync(join(dir, HEAD)).size;
    truncateSync(join(dir, HEAD), size - 7);
    const warnings: string[] = [];
    const q = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(`quarantined ${size - 7 - starts[2]!} bytes of .*${HEAD} at offset ${starts[2]}`),
    );
    expect(q.stats()).toMatchObject({
      entries: 20,
      quarantinedBytes: size - 7 - starts[2]!,
      quarantinedEvents: 1,
    });
    const quarantine = readFileSync(join(dir, "edr_queue_writes.quarantine"));
    expect(quarantine.toString("latin1")).toMatch(
      /^# edr-queue quarantine .* reason="member ends past end of file/,
    );
    await q.append(entries(30, 5));
    expect(await drainAll(q)).toEqual([...range(0, 20), ...range(30, 5)]);
    await q.close();
    const again = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(again.stats()).toMatchObject({ quarantinedEvents: 1 });
    await again.close();
  });

  it("recovers from a cut at every byte of the last member (and every 11th of the one before)", async () => {
    const dir = tempDir();
    const starts = await threeMembers(dir);
    const file = join(dir, HEAD);
    const whole = readFileSync(file);
    for (let cut = starts[1]! + 1; cut < whole.length; cut += cut < starts[2]! - 11 ? 11 : 1) {
      writeFileSync(file, whole.subarray(0, cut));
      const q = await createQueue({ dir, onWarning: () => undefined });
      const expected = cut < starts[2]! ? range(0, 10) : range(0, 20);
      const got: number[] = [];
      for (;;) {
        const b = await q.read({ maxEntries: 1000 });
        if (b.entries.length === 0) break;
        got.push(...b.entries.map(indexOf));
      }
      expect(got, `cut at ${cut}`).toEqual(expected);
      expect(q.stats().entries).toBe(expected.length);
      await q.close();
    }
  });

  it("skips a corrupt member in the middle (CRC) into quarantine and keeps the members after it", async () => {
    const dir = tempDir();
    const starts = await threeMembers(dir);
    const file = join(dir, HEAD);
    const bytes = readFileSync(file);
    bytes[starts[1]! + 40]! ^= 0xff; // inside the deflate body of the second member
    writeFileSync(file, bytes);
    const warnings: string[] = [];
    const q = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
    expect(await drainAll(q)).toEqual([...range(0, 10), ...range(20, 10)]);
    expect(warnings.join("\n")).toMatch(
      /quarantined \d+ bytes .* at offset \d+ \((CRC-32 mismatch|deflate data)/,
    );
    expect(q.stats()).toMatchObject({ entries: 0, quarantinedEvents: 1 });
    await q.close();
  });

  it("keeps batches acknowledgeable in order when an unreadable member lies between them", async () => {
    const dir = tempDir();
    const starts = await threeMembers(dir);
    const file = join(dir, HEAD);
    const bytes = readFileSync(file);
    bytes[starts[2]! - 20]! ^= 0xff; // the second member's body
    writeFileSync(file, bytes);
    const q = await createQueue({ dir, onWarning: () => undefined });
    const first = await q.read({ maxEntries: 10 }); // the whole first member
    const second = await q.read({ maxEntries: 10 }); // skips the bad member: entries 20..29
    const empty = await q.read({ maxEntries: 10 });
    expect(empty.entries).toEqual([]);
    q.rewind();
    expect((await q.read({ maxEntries: 100 })).entries.map(indexOf)).toEqual([
      ...range(0, 10),
      ...range(20, 10),
    ]);
    await q.ack(first);
    await q.ack(second);
    expect(q.stats()).toMatchObject({ entries: 0, acknowledged: 20, quarantinedEvents: 1 });
    await q.close();
  });

  it("never needs an empty batch acknowledged to get past an unreadable member at the end", async () => {
    const dir = tempDir();
    // Tiny segments: the second append seals the first member into segment 1.
    const q0 = await createQueue({ dir, segmentBytes: 64 });
    for (let i = 0; i < 2; i++) await q0.append(entries(i * 10, 10));
    await q0.close();
    // Seal the head by hand as segment 2 and damage it: the last member there is unreadable.
    const bytes = readFileSync(join(dir, HEAD));
    bytes[bytes.length - 20]! ^= 0xff;
    writeFileSync(join(dir, "edr_queue_writes.000002.jsonl.gz"), bytes);
    rmSync(join(dir, HEAD));
    const q = await createQueue({ dir, segmentBytes: 64, onWarning: () => undefined });
    const first = await q.read({ maxEntries: 10 });
    expect(first.entries.map(indexOf)).toEqual(range(0, 10));
    expect((await q.read({ maxEntries: 10 })).entries).toEqual([]); // skips segment 2: nothing readable
    await q.append(entries(30, 5));
    const next = await q.read({ maxEntries: 10 });
    expect(next.entries.map(indexOf)).toEqual(range(30, 5));
    await q.ack(first);
    await q.ack(next); // spans the skipped member: in order without acking the empty batch
    expect(q.stats()).toMatchObject({ entries: 0, acknowledged: 15, quarantinedEvents: 1 });
    await q.close();
  });

  it("quarantines a head file that is not gzip at all and starts clean", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, HEAD), "this is not gzip\n");
    const warnings: string[] = [];
    const q = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
    expect(warnings[0]).toMatch(/quarantined 17 bytes .* at offset 0 \(not a gzip member header\)/);
    expect(q.stats()).toMatchObject({ entries: 0, quarantinedBytes: 17 });
    await q.append(entries(0, 2));
    expect(await drainAll(q)).toEqual([0, 1]);
    await q.close();
  });

  it("quarantines a gzip member that is not JSON lines of entries when reading it", async () => {
    const dir = tempDir();
    const good = (from: number): Buffer =>
      gzipSync(
        entries(from, 2)
          .map((e) => JSON.stringify(e) + "\n")
          .join(""),
      );
    writeFileSync(
      join(dir, HEAD),
      Buffer.concat([good(0), gzipSync("not json\n"), gzipSync('{"a": 1}\n'), good(2)]),
    );
    const warnings: string[] = [];
    const q = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
    expect(await drainAll(q)).toEqual([0, 1, 2, 3]);
    expect(warnings.join("\n")).toMatch(/line 1 is not JSON: "not json"/);
    expect(warnings.join("\n")).toMatch(/line 1 is not \{"table": string, "line": string\}/);
    expect(q.stats()).toMatchObject({ entries: 0, acknowledged: 4, quarantinedEvents: 2 });
    await q.close();
  });

  it("falls back to the previous cursor copy when the newest one is torn", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir });
    await q.append(entries(0, 10));
    await q.ack(await q.read({ maxEntries: 3 })); // generation 1 -> slot 1
    await q.ack(await q.read({ maxEntries: 3 })); // generation 2 -> slot 0
    await q.close();
    const cursor = join(dir, "edr_queue_writes.cursor");
    const bytes = readFileSync(cursor);
    bytes.fill(0x41, 20, 60); // tear slot 0 (the newest)
    writeFileSync(cursor, bytes);
    const q2 = await createQueue({ dir });
    expect(q2.stats()).toMatchObject({ acknowledged: 3, entries: 7 });
    expect(await drainAll(q2)).toEqual(range(3, 7));
    await q2.close();
  });

  it("creates a missing directory with its parents", async () => {
    const dir = join(tempDir(), "a", "b");
    const q = await createQueue({ dir });
    await q.close();
    expect(existsSync(join(dir, HEAD))).toBe(true);
  });

  it("gives a clear error when dir is a file", async () => {
    const file = join(tempDir(), "plain-file");
    writeFileSync(file, "");
    await expect(createQueue({ dir: file })).rejects.toThrow(
      /^\[edr-queue\] createQueue: dir ".*plain-file": expected a directory we can use, got a file that is not a directory \(ENOTDIR\)/,
    );
  });

  it("gives a clear error when a queue file cannot be opened (no permission: a directory in its place)", async () => {
    const dir = tempDir();
    execFileSync("mkdir", [join(dir, HEAD)]);
    await expect(createQueue({ dir })).rejects.toThrow(
      /^\[edr-queue\] createQueue: cannot open the queue .*EISDIR/,
    );
    // The lock was released: fixing the problem is enough to open.
    execFileSync("rmdir", [join(dir, HEAD)]);
    await (await createQueue({ dir })).close();
  });
});
