// Every file edr-plugin writes beside the queue (dead letters and their rotated and temp files, watermarks and
// the on-write downsampling state, which is a watermark file too) is its owner's only, whatever the umask.
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { letterFor } from "../test/stores-letters.js";
import { createDeadLetterStore } from "./dead-letters.js";
import { createWatermarkStore } from "./watermarks.js";

const original = process.umask();
let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "edr-file-modes-"));
});
afterEach(async () => {
  process.umask(original);
  await rm(base, { recursive: true, force: true });
});

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

async function modes(dir: string): Promise<Record<string, number>> {
  const names = await readdir(dir);
  const entries = await Promise.all(
    names.map(async (n): Promise<[string, number]> => [n, await modeOf(join(dir, n))]),
  );
  return Object.fromEntries(entries);
}

/** Dead letters (appended, rotated, rewritten) and watermarks (scheduled and on-write downsampling). */
async function writeEverything(dir: string): Promise<void> {
  const letters = await createDeadLetterStore({ dir, queueName: "writes", maxBytes: 600 });
  for (let i = 0; i < 12; i += 3) await letters.append([letterFor(i), letterFor(i + 1), letterFor(i + 2)]);
  expect(letters.stats().rotations).toBeGreaterThan(0);
  await letters.rewrite(async (batch) => batch.filter((l) => l.ordinal % 2 === 0));
  await letters.close();
  const late = await createDeadLetterStore({ dir, queueName: "writes_late" });
  await late.append([letterFor(100)]);
  await late.close();
  for (const name of ["schedule", "writes_downsampling"]) {
    const marks = await createWatermarkStore({ dir, name });
    await marks.set("cpu", 1_700_000_000_000_000_000n);
    await marks.setMany(new Map([["mem", 1n]]));
    await marks.close();
  }
}

const EXPECTED = [
  "edr_dead_letter_writes.1.jsonl",
  "edr_dead_letter_writes.jsonl",
  "edr_dead_letter_writes_late.jsonl",
  "edr_watermarks_schedule.json",
  "edr_watermarks_writes_downsampling.json",
];

describe("file modes", () => {
  // 0o277 takes the owner's own write bit away at creation: only an explicit chmod gives 0600.
  for (const umask of [0o022, 0o000, 0o277]) {
    it(`writes every file 0600 and creates directories 0700 under umask ${umask.toString(8).padStart(3, "0")}`, async () => {
      const dir = join(base, "x", "queue");
      process.umask(umask);
      await writeEverything(dir);
      process.umask(original);
      expect(await modes(dir)).toEqual(Object.fromEntries(EXPECTED.map((n) => [n, 0o600])));
      expect(await modeOf(join(base, "x"))).toBe(0o700);
      expect(await modeOf(dir)).toBe(0o700);
    });
  }

  it("sets existing files and temp files left by a crash to 0600, and leaves an existing directory alone", async () => {
    process.umask(0o022);
    const dir = join(base, "queue");
    await writeEverything(dir);
    await chmod(dir, 0o755);
    for (const name of await readdir(dir)) await chmod(join(dir, name), 0o644);
    // Temp files a crash left behind: opening them again for writing keeps their mode.
    await writeFile(join(dir, "edr_dead_letter_writes.jsonl.tmp"), "torn", { mode: 0o644 });
    await writeFile(join(dir, "edr_dead_letter_writes.1.jsonl.tmp"), "torn", { mode: 0o644 });

    const letters = await createDeadLetterStore({ dir, queueName: "writes", maxBytes: 600 });
    expect(await modeOf(join(dir, "edr_dead_letter_writes.jsonl"))).toBe(0o600);
    expect(await modeOf(join(dir, "edr_dead_letter_writes.1.jsonl"))).toBe(0o600);
    await letters.rewrite(async (batch) => batch.slice(1));
    await letters.close();
    await (await createDeadLetterStore({ dir, queueName: "writes_late" })).close();
    for (const name of ["schedule", "writes_downsampling"]) {
      const marks = await createWatermarkStore({ dir, name });
      expect(await modeOf(join(dir, `edr_watermarks_${name}.json`))).toBe(0o600);
      await marks.close();
    }
    await writeFile(join(dir, "edr_watermarks_schedule.json.tmp"), "{}", { mode: 0o644 });
    const marks = await createWatermarkStore({ dir, name: "schedule" });
    await writeFile(join(dir, "edr_watermarks_schedule.json.tmp"), "{}", { mode: 0o644 });
    await marks.set("cpu", 5n);
    await marks.close();

    expect(await modes(dir)).toEqual(Object.fromEntries(EXPECTED.map((n) => [n, 0o600])));
    expect(await modeOf(dir)).toBe(0o755);
  });
});
