import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createQueue, QueueError, type Queue } from "./index.js";
import { entries, entry, indexOf, tempDir } from "../test/helpers.js";

async function drainAll(q: Queue, maxEntries = 1000): Promise<number[]> {
  const seen: number[] = [];
  for (;;) {
    const batch = await q.read({ maxEntries });
    if (batch.entries.length === 0) return seen;
    seen.push(...batch.entries.map(indexOf));
    await q.ack(batch);
  }
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => from + k);

describe("createQueue", () => {
  it("gives entries back in append order across reads, acks and reopen", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir });
    await q.append(entries(0, 10));
    await q.append(entries(10, 5));
    const b1 = await q.read({ maxEntries: 4 });
    expect(b1.entries.map(indexOf)).toEqual([0, 1, 2, 3]);
    await q.ack(b1);
    await q.close();
    const q2 = await createQueue({ dir });
    expect(q2.stats()).toMatchObject({ entries: 11, acknowledged: 4, appended: 15 });
    expect(await drainAll(q2, 3)).toEqual(range(4, 11));
    await q2.close();
  });

  it("returns the next entries on each read and the same ones again after rewind", async () => {
    const q = await createQueue({ dir: tempDir() });
    await q.append(entries(0, 6));
    const a = await q.read({ maxEntries: 2 });
    const b = await q.read({ maxEntries: 2 });
    expect(b.entries.map(indexOf)).toEqual([2, 3]);
    q.rewind();
    const again = await q.read({ maxEntries: 3 });
    expect(again.entries.map(indexOf)).toEqual([0, 1, 2]);
    await q.ack(a);
    await expect(q.ack(a)).resolves.toBeUndefined(); // already acknowledged: nothing happens
    expect(q.stats().entries).toBe(4);
    await q.close();
  });

  it("acknowledges several consecutive batches at once as one span, without their entries", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir });
    await q.append(entries(0, 10));
    const first = await q.read({ maxEntries: 3 });
    await q.read({ maxEntries: 3 });
    const third = await q.read({ maxEntries: 3 });
    await q.ack({ start: first.start, end: third.end, entries: { length: 9 } });
    expect(q.stats()).toMatchObject({ entries: 1, acknowledged: 9 });
    await q.close();
    const reopened = await createQueue({ dir });
    expect(await drainAll(reopened)).toEqual([9]);
    await reopened.close();
  });

  it("keeps appended = acknowledged + dropped + entries at every moment of an ack and a drop", async () => {
    // Sampled from the event loop (as a status endpoint would be) while acks and drop-oldest appends run.
    const q = await createQueue({ dir: tempDir(), maxBytes: 4000, onFull: "drop-oldest" });
    const broken: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = q.stats();
        if (s.appended !== 100 * Math.ceil(s.appended / 100)) broken.push(JSON.stringify(s));
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 40; i++) {
      await q.append(entries(i * 100, 100));
      const b = await q.read({ maxEntries: 30 });
      await q.ack(b);
    }
    sampling = false;
    await sampler;
    expect(broken).toEqual([]);
    expect(q.stats()).toMatchObject({ appended: 4000 });
    await q.close();
  });

  it("rejects an ack that skips an unacknowledged batch", async () => {
    const q = await createQueue({ dir: tempDir() });
    await q.append(entries(0, 4));
    await q.read({ maxEntries: 2 });
    const second = await q.read({ maxEntries: 2 });
    const error = await q.ack(second).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueError);
    expect((error as QueueError).code).toBe("OUT_OF_ORDER");
    expect((error as Error).message).toMatch(
      /^\[edr-queue\] ack: batch starts at segment 1 offset \d+ entry 2/,
    );
    await q.close();
  });

  it("keeps the order of concurrent appends and coalesces them (group commit)", async () => {
    const q = await createQueue({ dir: tempDir() });
    await Promise.all(range(0, 200).map((i) => q.append([entry(i)])));
    expect(await drainAll(q)).toEqual(range(0, 200));
    await q.close();
  });

  it("reads and appends concurrently without losing or reordering", async () => {
    const q = await createQueue({ dir: tempDir(), segmentBytes: 4096, reclaimBytes: 1024 });
    const seen: number[] = [];
    const writer = (async () => {
      for (let i = 0; i < 100; i++) await q.append(entries(i * 20, 20));
    })();
    let done = false;
    void writer.then(() => (done = true));
    while (!done || q.stats().entries > 0) {
      const b = await q.read({ maxEntries: 37 });
      seen.push(...b.entries.map(indexOf));
      await q.ack(b);
      if (b.entries.length === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await writer;
    expect(seen).toEqual(range(0, 2000));
    await q.close();
  });

  it("seals segments, deletes them once acknowledged and resets a drained head", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir, segmentBytes: 8192, reclaimBytes: 1024 });
    for (let i = 0; i < 50; i++) await q.append(entries(i * 50, 50));
    const files = (): string[] => readdirSync(dir).filter((f) => f.endsWith(".jsonl.gz"));
    expect(files().length).toBeGreaterThan(3);
    expect(q.stats().segments).toBe(files().length);
    expect(await drainAll(q, 333)).toEqual(range(0, 2500));
    await q.close(); // waits for the reclaim started by the last ack
    expect(files()).toEqual(["edr_queue_writes.jsonl.gz"]);
    expect(statSync(join(dir, "edr_queue_writes.jsonl.gz")).size).toBe(0);
  });

  for (const fsync of ["batch", "never"] as const) {
    it(`keeps entries across a clean close with fsync: "${fsync}"`, async () => {
      const dir = tempDir();
      const q = await createQueue({ dir, fsync, fsyncIntervalMs: 5 });
      await q.append(entries(0, 20));
      await new Promise((r) => setTimeout(r, 20)); // let the background fsync run
      await q.ack(await q.read({ maxEntries: 5 }));
      await q.append(entries(20, 5));
      await q.close();
      const again = await createQueue({ dir });
      expect(await drainAll(again)).toEqual(range(5, 20));
      await again.close();
    });
  }

  it("writes plain gzip JSON lines that zcat reads", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir, name: "schedule" });
    await q.append(entries(0, 3));
    await q.close();
    const text = execFileSync("zcat", [join(dir, "edr_queue_schedule.jsonl.gz")], { encoding: "utf8" });
    expect(
      text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual(entries(0, 3));
  });

  it("compresses small appends on the main thread and large ones on the pool, into the same readable gzip", async () => {
    // 5 entries (~700 bytes of JSON) stay on the main thread; 5,000 (~650 KB) go to the thread pool.
    const dir = tempDir();
    const q = await createQueue({ dir });
    await q.append(entries(0, 5));
    await q.append(entries(5, 5_000));
    await q.append(entries(5_005, 5));
    await q.close();
    const expected = entries(0, 5_010)
      .map((e) => JSON.stringify(e) + "\n")
      .join("");
    const file = join(dir, "edr_queue_writes.jsonl.gz");
    expect(execFileSync("zcat", [file], { maxBuffer: 1 << 24 }).toString("utf8")).toBe(expected);
    const again = await createQueue({ dir });
    expect(await drainAll(again)).toEqual(range(0, 5_010));
    await again.close();
  });

  it("writes exactly JSON.stringify's lines, one gzip member per append, whatever the characters", async () => {
    const dir = tempDir();
    const odd = [
      { table: 'we"ird\\', line: 'm,k=v s="a \\"quoted\\" word",n=1i 1' },
      { table: "météo", line: "météo,city=Zürich t=21.5 2\n\t\u0001\u2028" },
      { table: "emoji🚀", line: "lone \ud800 and \udc00 surrogates, a pair 🚀" },
      { table: "emoji🚀", line: "" },
    ];
    const q = await createQueue({ dir });
    await Promise.all([q.append(odd.slice(0, 1)), q.append(odd.slice(1)), q.append(entries(0, 2))]);
    await q.append(odd);
    await q.close();
    const expected = [...odd, ...entries(0, 2), ...odd].map((e) => JSON.stringify(e) + "\n").join("");
    const file = join(dir, "edr_queue_writes.jsonl.gz");
    expect(execFileSync("zcat", [file]).equals(Buffer.from(expected, "utf8"))).toBe(true);
    // Node's own multi-member gunzip agrees, and so does a reopened queue.
    expect(gunzipSync(readFileSync(file)).toString("utf8")).toBe(expected);
    const again = await createQueue({ dir });
    expect((await again.read({ maxEntries: 100 })).entries).toEqual([...odd, ...entries(0, 2), ...odd]);
    await again.close();
  });

  it("serves the members it appended last from memory: the same entries, copied, as from disk", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir });
    const mine = entries(0, 5);
    await q.append(mine);
    // The caller may reuse its array and objects once append resolved.
    (mine[0] as { line: string }).line = "changed";
    mine.length = 0;
    const first = await q.read({ maxEntries: 3 });
    expect(first.entries).toEqual(entries(0, 3));
    await q.ack(first);
    // More than the members kept in memory (8 MiB of JSON): the oldest are read from disk again.
    const big = 80_000;
    for (let i = 5; i < 5 + big; i += 10_000) await q.append(entries(i, Math.min(10_000, 5 + big - i)));
    expect(await drainAll(q, 7_000)).toEqual(range(3, big + 2));
    await q.close();
    const reopened = await createQueue({ dir });
    expect(reopened.stats().entries).toBe(0);
    await reopened.close();
  });

  it("does not read back from disk what it has just appended (it is checked again after a reopen)", async () => {
    const dir = tempDir();
    const file = join(dir, "edr_queue_writes.jsonl.gz");
    const q = await createQueue({ dir, onWarning: () => undefined });
    await q.append(entries(0, 100));
    const bytes = readFileSync(file);
    bytes[bytes.length - 20]! ^= 0xff; // the member's body, behind the queue's back
    writeFileSync(file, bytes);
    expect((await q.read()).entries).toEqual(entries(0, 100)); // from memory
    await q.close();
    const warnings: string[] = [];
    const reopened = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
    expect((await reopened.read()).entries).toEqual([]);
    expect(warnings.join("\n")).toMatch(/quarantined \d+ bytes .* \((CRC-32 mismatch|deflate data)/);
    await reopened.close();
  });

  it("reads entries appended while reads and acks go on, in order, from memory and from disk", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir, segmentBytes: 64 * 1024, reclaimBytes: 16 * 1024 });
    const seen: number[] = [];
    let appended = 0;
    const writer = (async () => {
      for (let i = 0; i < 60; i++) {
        const n = 1 + ((i * 37) % 500);
        await q.append(entries(appended, n));
        appended += n;
      }
    })();
    let done = false;
    void writer.then(() => (done = true));
    for (;;) {
      const batch = await q.read({ maxEntries: 300 });
      if (batch.entries.length === 0) {
        if (done && seen.length === appended) break;
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      seen.push(...batch.entries.map(indexOf));
      await q.ack(batch);
    }
    await writer;
    expect(seen).toEqual(range(0, appended));
    expect(q.stats()).toMatchObject({ entries: 0, acknowledged: appended });
    await q.close();
  });

  it("rejects appends beyond maxBytes with FULL and keeps what is queued", async () => {
    const q = await createQueue({ dir: tempDir(), maxBytes: 2000 });
    let appended = 0;
    let error: unknown;
    for (let i = 0; i < 100 && !error; i++) {
      await q.append(entries(i * 10, 10)).then(
        () => (appended += 10),
        (e: unknown) => (error = e),
      );
    }
    expect((error as QueueError).code).toBe("FULL");
    expect((error as Error).message).toMatch(/is full: \d+ bytes queued \+ \d+ > maxBytes 2000/);
    expect(q.stats().bytes).toBeLessThanOrEqual(2000);
    expect(await drainAll(q)).toEqual(range(0, appended));
    await q.close();
  });

  it("drops the oldest entries under onFull 'drop-oldest' and counts them", async () => {
    const q = await createQueue({ dir: tempDir(), maxBytes: 2000, onFull: "drop-oldest" });
    for (let i = 0; i < 100; i++) await q.append(entries(i * 10, 10));
    const s = q.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.bytes).toBeLessThanOrEqual(2000);
    expect(s.dropped + s.entries).toBe(1000);
    const rest = await drainAll(q);
    expect(rest).toEqual(range(s.dropped, 1000 - s.dropped));
    await q.close();
  });

  it("reports the age of the oldest unacknowledged entry", async () => {
    const q = await createQueue({ dir: tempDir() });
    expect(q.stats().oldestAgeMs).toBeUndefined();
    await q.append(entries(0, 1));
    await new Promise((r) => setTimeout(r, 30));
    expect(q.stats().oldestAgeMs).toBeGreaterThanOrEqual(25);
    await q.close();
  });

  it("refuses a second owner in the same process and allows a reopen after close", async () => {
    const dir = tempDir();
    const q = await createQueue({ dir });
    await expect(createQueue({ dir })).rejects.toThrow(/locked by this process/);
    await q.close();
    await q.close();
    await expect(q.append(entries(0, 1))).rejects.toThrow(/closed/);
    const q2 = await createQueue({ dir });
    await q2.close();
  });

  it("lists every bad option at once", async () => {
    await expect(createQueue({ dir: "", name: "a/b", maxBytes: -1, fsync: "sometimes" as "always" })).rejects
      .toThrowErrorMatchingInlineSnapshot(`
      [QueueError: [edr-queue] createQueue: invalid options:
        dir: expected a directory path, got ""
        name: expected letters, digits, "_" or "-", got "a/b"
        maxBytes: expected a positive integer, got -1
        fsync: expected "always", "batch" or "never", got "sometimes"]
    `);
  });

  it("rejects malformed entries naming the index", async () => {
    const q = await createQueue({ dir: tempDir() });
    await expect(q.append([entry(0), { table: "t" } as never])).rejects.toThrow(
      /append: entries\[1\]: expected \{table: string, line: string\}, got \{"table":"t"\}/,
    );
    await q.close();
  });

  for (const codec of ["zlib", "fflate"] as const) {
    it(`round-trips with the ${codec} codec and reads the other codec's files`, async () => {
      const dir = tempDir();
      const q = await createQueue({ dir, codec });
      await q.append(entries(0, 500));
      await q.close();
      const other = await createQueue({ dir, codec: codec === "zlib" ? "fflate" : "zlib" });
      expect(await drainAll(other)).toEqual(range(0, 500));
      await other.close();
    });
  }
});
