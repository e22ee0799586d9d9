import { appendFileSync, chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createQueue } from "./index.js";
import { entries, tempDir } from "../test/helpers.js";

const modeOf = (path: string): number => statSync(path).mode & 0o777;

/** Every file in `dir` with its mode, by name. */
function modes(dir: string): Record<string, number> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, modeOf(join(dir, name))]));
}

const original = process.umask();
afterEach(() => {
  process.umask(original);
});

describe("file modes", () => {
  // 0o000 would let a default mode through; 0o277 takes the owner's write bit away, which only an explicit
  // chmod gives back.
  for (const umask of [0o022, 0o000, 0o277]) {
    it(`creates every file 0600 and every directory 0700 under umask ${umask.toString(8).padStart(3, "0")}`, async () => {
      const base = tempDir();
      const dir = join(base, "a", "b", "queue");
      process.umask(umask);
      const q = await createQueue({ dir, segmentBytes: 300, fsync: "never" });
      for (let i = 0; i < 5; i++) await q.append(entries(i * 10, 10)); // seals segments
      await q.ack(await q.read({ maxEntries: 5 }));
      const open = modes(dir);
      expect(Object.keys(open)).toEqual(
        expect.arrayContaining([
          "edr_queue_writes.lock",
          "edr_queue_writes.cursor",
          "edr_queue_writes.jsonl.gz",
        ]),
      );
      expect(Object.keys(open).some((name) => /\.\d{6}\.jsonl\.gz$/.test(name))).toBe(true);
      await q.close();
      // A torn tail is quarantined on the next open: the quarantine file is new.
      appendFileSync(join(dir, "edr_queue_writes.jsonl.gz"), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01]));
      const reopened = await createQueue({ dir, onWarning: () => {} });
      expect(reopened.stats().quarantinedEvents).toBe(1);
      const all = modes(dir);
      expect(Object.keys(all)).toContain("edr_queue_writes.quarantine");
      expect(all).toEqual(Object.fromEntries(Object.keys(all).map((name) => [name, 0o600])));
      await reopened.close();
      for (const d of [join(base, "a"), join(base, "a", "b"), dir]) expect(modeOf(d), d).toBe(0o700);
    });
  }

  it("sets the queue's existing files to 0600 when it opens them, and leaves an existing directory alone", async () => {
    process.umask(0o022);
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const q = await createQueue({ dir, segmentBytes: 300, fsync: "never" });
    for (let i = 0; i < 3; i++) await q.append(entries(i * 10, 10));
    await q.close();
    appendFileSync(join(dir, "edr_queue_writes.quarantine"), "# an older quarantine\n");
    for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
    // A temp cursor left by a crash keeps its mode when reopened for writing, so it is set too.
    const fresh = join(dir, "fresh");
    mkdirSync(fresh, { mode: 0o755 });
    writeFileSync(join(fresh, "edr_queue_writes.cursor.tmp"), "left by a crash", { mode: 0o644 });

    const again = await createQueue({ dir, fsync: "never" });
    await again.close();
    const created = await createQueue({ dir: fresh, fsync: "never" });
    await created.close();
    expect(modes(dir)).toEqual({
      "edr_queue_writes.jsonl.gz": 0o600,
      "edr_queue_writes.cursor": 0o600,
      "edr_queue_writes.quarantine": 0o600,
      ...Object.fromEntries(
        readdirSync(dir)
          .filter((name) => /\.\d{6}\.jsonl\.gz$/.test(name))
          .map((name) => [name, 0o600]),
      ),
      fresh: 0o755,
    });
    expect(modeOf(join(fresh, "edr_queue_writes.cursor"))).toBe(0o600);
    expect(modeOf(dir)).toBe(0o755);
  });
});
