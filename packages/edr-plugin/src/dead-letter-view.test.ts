import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readDeadLetters, summarizeDeadLetters } from "./dead-letter-view.js";
import { createDeadLetterStore, type DeadLetter } from "./dead-letters.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edr-dead-letter-view-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const letter = (ordinal: number, table: string, status: number): DeadLetter => ({
  line: `${table} v=${ordinal}i ${ordinal}`,
  table,
  status,
  reason: `refused ${ordinal}`,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, ordinal)).toISOString(),
  ordinal,
});

describe("the read-only view of the dead letters", () => {
  it("reads the rotated file then the current one, and counts by status and table", async () => {
    // A tiny maxBytes rotates after each append: letters 0-1 end up in the rotated file.
    const store = await createDeadLetterStore({ dir, queueName: "writes", maxBytes: 1 });
    await store.append([letter(0, "cpu", 400), letter(1, "mem", 422)]);
    await store.append([letter(2, "cpu", 400)]);
    await store.close();
    const read: number[] = [];
    for await (const l of readDeadLetters(dir, "writes")) read.push(l.ordinal);
    expect(read).toEqual([0, 1, 2]);
    const summary = await summarizeDeadLetters(dir, "writes");
    expect(summary).toMatchObject({
      letters: 3,
      byStatus: { "400": 2, "422": 1 },
      byTable: { cpu: 2, mem: 1 },
      oldest: "2026-01-01T00:00:00.000Z",
      newest: "2026-01-01T00:00:02.000Z",
    });
  });

  it("leaves out a last line still being appended, and finds nothing where there is no file", async () => {
    const store = await createDeadLetterStore({ dir, queueName: "schedule" });
    await store.append([letter(0, "cpu", 400)]);
    await store.close();
    await appendFile(join(dir, "edr_dead_letter_schedule.jsonl"), '{"line":"cpu v=1i 1","tab');
    expect((await summarizeDeadLetters(dir, "schedule")).letters).toBe(1);
    expect((await summarizeDeadLetters(dir, "nothing")).letters).toBe(0);
  });
});
