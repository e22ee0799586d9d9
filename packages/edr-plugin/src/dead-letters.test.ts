import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { letterFor } from "../test/stores-letters.js";
import { runChildUntilKilled } from "../test/stores-spawn.js";
import { createDeadLetterStore, type DeadLetter, type DeadLetterStore } from "./dead-letters.js";
import { PluginError } from "./errors.js";

let dir: string;
let warnings: string[];
const opened: DeadLetterStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edr-dead-letters-"));
  warnings = [];
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openStore(maxBytes?: number, queueName = "writes"): Promise<DeadLetterStore> {
  const store = await createDeadLetterStore({ dir, queueName, maxBytes, onWarning: (m) => warnings.push(m) });
  opened.push(store);
  return store;
}

async function listAll(store: DeadLetterStore): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for await (const letter of store.list()) letters.push(letter);
  return letters;
}

const range = (from: number, to: number): DeadLetter[] =>
  Array.from({ length: to - from }, (_, i) => letterFor(from + i));

describe("createDeadLetterStore", () => {
  it("writes JSON lines with mode 0600 that round-trip quotes, newlines and lone surrogates", async () => {
    const store = await openStore();
    expect(store.path).toBe(join(dir, "edr_dead_letter_writes.jsonl"));
    expect(await store.append(range(0, 3))).toBe(3);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    const text = await readFile(store.path, "utf8");
    expect(text.split("\n")).toHaveLength(4); // three lines and the final newline
    expect(JSON.parse(text.split("\n")[0]!)).toEqual(letterFor(0));
    expect(Object.keys(JSON.parse(text.split("\n")[0]!) as object)).toEqual([
      "line",
      "table",
      "status",
      "reason",
      "time",
      "ordinal",
    ]);
    expect(await listAll(store)).toEqual(range(0, 3));
    expect((await listAll(store))[0]!.table).toBe("m\u00e9\ud8000");
  });

  it("skips letters whose ordinal is already on disk, also after reopening", async () => {
    const store = await openStore();
    expect(await store.append(range(0, 5))).toBe(5);
    expect(await store.append(range(3, 8))).toBe(3);
    expect(store.stats()).toMatchObject({ letters: 8, written: 8, skipped: 2 });
    await store.close();
    const again = await openStore();
    expect(again.highestOrdinal()).toBe(7);
    expect(again.stats().letters).toBe(8);
    expect(await again.append(range(0, 8))).toBe(0);
    expect(await again.append(range(0, 9))).toBe(1);
    expect((await listAll(again)).map((l) => l.ordinal)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("writes ordinals again after resetOrdinals (a recreated queue)", async () => {
    const store = await openStore();
    await store.append(range(0, 3));
    store.resetOrdinals();
    expect(store.highestOrdinal()).toBeUndefined();
    expect(await store.append(range(0, 1))).toBe(1);
    expect(store.highestOrdinal()).toBe(0);
    expect((await listAll(store)).map((l) => l.ordinal)).toEqual([0, 1, 2, 0]);
  });

  it("cuts a torn last line (no newline) off with a warning, so it is written again", async () => {
    const store = await openStore();
    await store.append(range(0, 3));
    await store.close();
    const whole = await readFile(store.path, "utf8");
    await appendFile(store.path, JSON.stringify(letterFor(3)).slice(0, 40));
    const again = await openStore();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(store.path);
    expect(warnings[0]).toMatch(/torn/);
    expect(await readFile(store.path, "utf8")).toBe(whole);
    expect(again.highestOrdinal()).toBe(2);
    expect(await again.append(range(0, 4))).toBe(1);
    expect(await listAll(again)).toEqual(range(0, 4));
  });

  it("cuts a last line that is not a letter, and keeps a long valid line before it", async () => {
    const long = { ...letterFor(0), line: "m v=1 " + "y".repeat(200_000) };
    const store = await openStore();
    await store.append([long]);
    await store.close();
    await appendFile(store.path, "not json\n");
    const again = await openStore();
    expect(warnings).toHaveLength(1);
    expect(again.highestOrdinal()).toBe(0);
    expect(await listAll(again)).toEqual([long]);
  });

  it("finds the highest ordinal from the tail without parsing the rest of the file", async () => {
    // A bad first line is only noticed when listing: opening looks at the last line alone.
    await writeFile(
      join(dir, "edr_dead_letter_writes.jsonl"),
      "garbage\n" + JSON.stringify(letterFor(9)) + "\n",
    );
    const store = await openStore();
    expect(warnings).toEqual([]);
    expect(store.highestOrdinal()).toBe(9);
    await expect(listAll(store)).rejects.toThrow(/line 1 of the dead-letter file .* is not a dead letter/);
  });

  it("rotates past maxBytes, discarding the older rotated file with a warning naming count and path", async () => {
    const size = Buffer.byteLength(JSON.stringify(letterFor(0)) + "\n");
    const store = await openStore(size * 10);
    for (let i = 0; i < 30; i += 5) await store.append(range(i, i + 5));
    const rotated = join(dir, "edr_dead_letter_writes.1.jsonl");
    expect(store.rotatedPath).toBe(rotated);
    const stats = store.stats();
    expect(stats.rotations).toBeGreaterThanOrEqual(2);
    expect(stats.discarded).toBeGreaterThan(0);
    // One warning per rotation over letters, each naming the rotated file and its count.
    expect(warnings.every((w) => w.includes(rotated))).toBe(true);
    const counts = warnings.map((w) => Number(/discarded (\d+) dead letters/.exec(w)?.[1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(stats.discarded);
    const letters = await listAll(store);
    expect(letters.length + stats.discarded).toBe(30);
    expect(letters).toEqual(range(30 - letters.length, 30));
    expect(stats.bytes).toBeLessThanOrEqual(2 * size * 10 + size * 5);
    expect((await stat(store.path)).size + (await stat(rotated)).size).toBe(stats.bytes);
    expect((await stat(rotated)).mode & 0o777).toBe(0o600);
    await store.close();
    const again = await openStore(size * 10);
    expect(again.stats()).toMatchObject({ letters: letters.length, bytes: stats.bytes });
    expect(again.highestOrdinal()).toBe(29);
  });

  it("takes the highest ordinal from the rotated file when the current one is missing (crash in rotation)", async () => {
    await writeFile(join(dir, "edr_dead_letter_writes.1.jsonl"), JSON.stringify(letterFor(4)) + "\n");
    const store = await openStore();
    expect(store.highestOrdinal()).toBe(4);
    expect(await store.append(range(3, 6))).toBe(1);
  });

  it("rejects with an IO PluginError naming the file when the directory cannot be used", async () => {
    const notADir = join(dir, "file");
    await writeFile(notADir, "");
    const error = await createDeadLetterStore({ dir: notADir, queueName: "q" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect(error).toMatchObject({ code: "IO" });
    expect((error as Error).message).toContain(join(notADir, "edr_dead_letter_q.jsonl"));
  });

  it("refuses a letter it could not read back, naming its index, and writes nothing of the call", async () => {
    const store = await openStore();
    const bad = { ...letterFor(1), status: Number.NaN };
    await expect(store.append([letterFor(0), bad])).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("dead letter 1 ") as unknown,
    });
    expect(store.stats()).toMatchObject({ letters: 0, bytes: 0 });
    expect(await store.append([letterFor(0)])).toBe(1);
  });

  it("closes twice safely and refuses appends after close", async () => {
    const store = await openStore();
    await store.close();
    await store.close();
    await expect(store.append(range(0, 1))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("survives SIGKILL at random moments: parses fully, ordinals strictly increase, nothing doubled", async () => {
    const size = Buffer.byteLength(JSON.stringify(letterFor(0)) + "\n");
    const maxBytes = size * 200;
    let lastAppended = -1;
    for (let round = 0; round < 12; round++) {
      lastAppended = Math.max(
        lastAppended,
        await runChildUntilKilled(["dead-letters", dir, String(maxBytes)]),
      );
      const store = await openStore(maxBytes, "crash");
      const letters = await listAll(store);
      const ordinals = letters.map((l) => l.ordinal);
      // Rotation discards the oldest, so what is left is one unbroken run ending at the highest.
      expect(ordinals).toEqual(ordinals.map((_, i) => ordinals[0]! + i));
      for (const letter of letters) expect(letter).toEqual(letterFor(letter.ordinal));
      expect(store.highestOrdinal()).toBeGreaterThanOrEqual(lastAppended);
      expect(await store.append(range(0, (store.highestOrdinal() ?? -1) + 1))).toBe(0);
      await store.close();
      opened.pop();
    }
    expect(lastAppended).toBeGreaterThan(500);
  });
});
