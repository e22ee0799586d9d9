import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, QueueError, type Queue } from "../src/index.js";
import { buildForChild } from "./build-child.js";
import { entries, tempDir } from "./helpers.js";

const built = buildForChild("hold", ["test/hold-child.ts"]);
const child = join(built, "test", "hold-child.js");

async function count(q: Queue): Promise<number> {
  let n = 0;
  for (;;) {
    const b = await q.read({ maxEntries: 10_000 });
    if (b.entries.length === 0) return n;
    n += b.entries.length;
  }
}

describe("the lock file", () => {
  it("refuses a second owner while the first process lives, naming its pid", async () => {
    const dir = tempDir();
    const holder = spawn(process.execPath, [child, "hold", dir], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      for await (const line of createInterface({ input: holder.stdout })) if (line === "open") break;
      await expect(createQueue({ dir })).rejects.toThrow(
        new RegExp(
          `^\\[edr-queue\\] queue is locked by process ${holder.pid}: lock file .*edr_queue_writes\\.lock$`,
        ),
      );
    } finally {
      holder.kill("SIGKILL");
    }
    await new Promise((r) => holder.on("exit", r));
    const q = await createQueue({ dir }); // the dead holder's lock is taken over
    await q.close();
  });

  it("takes over a lock whose pid is dead", async () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    writeFileSync(join(dir, "edr_queue_writes.lock"), `${dead}\n`);
    const q = await createQueue({ dir });
    await q.append(entries(0, 1));
    await q.close();
  });
});

describe("a full disk", () => {
  // Not tempDir(): that is emptied after each test, and these mounts live for the whole describe.
  const base = mkdtempSync(join(tmpdir(), "edr-queue-mnt-"));
  const mnt = join(base, "small");
  let mounted = false;
  beforeAll(() => {
    mkdirSync(mnt, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) execFileSync("umount", [mnt]);
    rmSync(base, { recursive: true, force: true });
  });

  it("rejects the append that does not fit (ENOSPC), keeps the rest, and acks and reopens fine", async () => {
    const dir = join(mnt, "q");
    const q = await createQueue({ dir });
    let appended = 0;
    let error: unknown;
    for (let i = 0; i < 10_000 && !error; i++) {
      // Random digits so the data does not compress away.
      const batch = Array.from({ length: 50 }, (_, k) => ({
        table: "t",
        line: `t v=${Math.random()} ${i * 50 + k}`,
      }));
      await q.append(batch).then(
        () => (appended += 50),
        (e: unknown) => (error = e),
      );
    }
    expect(error).toBeInstanceOf(QueueError);
    expect((error as QueueError).code).toBe("IO");
    expect((error as Error).message).toMatch(
      /^\[edr-queue\] append: writing .*edr_queue_writes\.jsonl\.gz failed \(ENOSPC\): the disk or file-size limit is full; this append was not queued, earlier entries are intact$/,
    );
    expect(appended).toBeGreaterThan(1000);
    expect(q.stats().entries).toBe(appended);
    // The cursor's slots are preallocated, so acknowledging still works on a full disk.
    await q.ack(await q.read({ maxEntries: 100 }));
    await q.close();
    const again = await createQueue({ dir });
    expect(again.stats()).toMatchObject({ entries: appended - 100, quarantinedEvents: 0 });
    expect(await count(again)).toBe(appended - 100);
    await again.close();
  });

  it("gives a clear error on a read-only file system (no permission to write, even as root)", async () => {
    const ro = join(base, "ro");
    mkdirSync(ro, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro]);
    try {
      await expect(createQueue({ dir: ro })).rejects.toThrow(
        /^\[edr-queue\] cannot create lock file .*edr_queue_writes\.lock: EROFS: read-only file system/,
      );
    } finally {
      execFileSync("umount", [ro]);
    }
  });

  it("rejects appends past a file-size limit (EFBIG, ulimit -f) and reopens with everything kept", () => {
    const dir = tempDir();
    const out = execFileSync("prlimit", [`--fsize=${256 * 1024}`, process.execPath, child, "fill", dir], {
      encoding: "utf8",
    });
    const report = JSON.parse(out) as {
      appended: number;
      code: string;
      message: string;
      reopened: { entries: number; quarantinedEvents: number };
    };
    expect(report.code).toBe("IO");
    expect(report.message).toMatch(
      /failed \(EFBIG\): the disk or file-size limit is full; this append was not queued/,
    );
    expect(report.appended).toBeGreaterThan(1000);
    expect(report.reopened).toMatchObject({ entries: report.appended, quarantinedEvents: 0 });
  });
});
