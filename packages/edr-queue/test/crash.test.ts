import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { createQueue, type QueueEntry } from "../src/index.js";
import { buildForChild } from "./build-child.js";

const idOf = (e: QueueEntry): number => Number(/usage_system=(\d+)i/.exec(e.line)![1]);

type KillAt = "time" | "append" | "ack" | "self-append" | "self-ack" | "self-reclaim";

interface History {
  nextId: number;
  attempted: Array<[from: number, count: number]>;
  resolved: Array<[from: number, count: number]>;
  ackLow: number; // every id <= ackLow was acknowledged by an ack that resolved
  ackHigh: number; // an ack of ids up to ackHigh was started (it may or may not have landed)
  reclaimKills: number; // kills scheduled while a drained head was being sealed and deleted
}

/** Runs the child until the kill point, SIGKILLs it, and folds its reports into the history. */
async function runChild(
  script: string,
  dir: string,
  h: History,
  seed: number,
  killAt: KillAt,
  fsync: string,
) {
  const threshold = 1 + (seed % 10);
  const selfKill = killAt.startsWith("self-") ? killAt.slice(5) : "none";
  const args = [script, dir, String(h.nextId), String(seed), fsync, selfKill, String(threshold)];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let seen = 0;
  const kill = (): void => void child.kill("SIGKILL");
  // A self-kill point the child may not reach (e.g. never fully drained): kill it anyway.
  const guard = setTimeout(kill, 2000);
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const [tag, a, b] = line.split(" ");
    const x = Number(a);
    const y = Number(b);
    if (tag === "open" && killAt === "time") setTimeout(kill, seed % 60);
    else if (tag === "A") {
      h.attempted.push([x, y]);
      h.nextId = Math.max(h.nextId, x + y);
      if (killAt === "append" && ++seen === threshold) kill();
    } else if (tag === "a") h.resolved.push([x, y]);
    else if (tag === "K") {
      h.ackHigh = Math.max(h.ackHigh, x);
      if (killAt === "ack" && ++seen === threshold) kill();
    } else if (tag === "k") h.ackLow = Math.max(h.ackLow, x);
    else if (tag === "R") h.reclaimKills++;
  }
  clearTimeout(guard);
  const code = await exited;
  if (code !== null) throw new Error(`child exited by itself (${code}): ${stderr}`);
  // A kill point the child never reached (e.g. too few acks): kill after the fact is harmless.
}

/** Reopens the queue (taking over the dead child's lock) and checks every guarantee. */
async function check(dir: string, h: History, context: string): Promise<number> {
  const warnings: string[] = [];
  const q = await createQueue({ dir, onWarning: (m) => warnings.push(m) });
  const ids: number[] = [];
  for (;;) {
    const batch = await q.read({ maxEntries: 5000 });
    if (batch.entries.length === 0) break;
    for (const e of batch.entries) ids.push(idOf(e));
  }
  const stats = q.stats();
  await q.close();
  const fail = (what: string): never => {
    throw new Error(`${context}: ${what}`);
  };
  if (stats.entries !== ids.length) fail(`stats.entries ${stats.entries} != ${ids.length} read`);
  const present = new Set(ids);
  for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) fail(`order broken at ${ids[i]}`);
  if (ids.length > 0 && ids[0]! <= h.ackLow)
    fail(`acknowledged id ${ids[0]} came back (acked up to ${h.ackLow})`);
  const min = ids[0] ?? Infinity;
  for (const [from, count] of h.resolved) {
    for (let id = from; id < from + count; id++) {
      if ((id > h.ackHigh || id >= min) && !present.has(id)) fail(`resolved append of id ${id} lost`);
    }
  }
  for (const [from, count] of h.attempted) {
    if (from <= h.ackHigh) continue;
    let n = 0;
    for (let id = from; id < from + count; id++) if (present.has(id)) n++;
    if (n !== 0 && n !== count) fail(`append ${from}+${count} partly present (${n})`);
  }
  for (const id of ids) if (id >= h.nextId) fail(`id ${id} was never appended`);
  return warnings.filter((w) => w.includes("quarantined")).length;
}

describe("crash safety (SIGKILL at random points, then reopen)", () => {
  const script = join(buildForChild("crash", ["test/crash-child.ts"]), "test", "crash-child.js");

  for (const [fsync, iterations] of [
    ["always", 150],
    ["never", 54],
  ] as const) {
    it.concurrent(
      `keeps every resolved append and never resurrects acknowledged entries (fsync: ${fsync}, ${iterations} kills)`,
      async ({ onTestFinished }) => {
        // Not tempDir(): its afterEach would empty this directory when the other, concurrent test ends.
        const dir = mkdtempSync(join(tmpdir(), `edr-queue-crash-${fsync}-`));
        onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
        const h: History = {
          nextId: 0,
          attempted: [],
          resolved: [],
          ackLow: -1,
          ackHigh: -1,
          reclaimKills: 0,
        };
        const modes = ["time", "append", "ack", "self-append", "self-ack", "self-reclaim"] as const;
        const kills: Record<KillAt, number> = {
          time: 0,
          append: 0,
          ack: 0,
          "self-append": 0,
          "self-ack": 0,
          "self-reclaim": 0,
        };
        let quarantines = 0;
        for (let i = 0; i < iterations; i++) {
          const seed = (i * 7919 + (fsync === "always" ? 1 : 2)) >>> 0;
          const killAt = modes[i % modes.length]!;
          kills[killAt]++;
          await runChild(script, dir, h, seed, killAt, fsync);
          quarantines += await check(
            dir,
            h,
            `iteration ${i} (seed ${seed}, kill at ${killAt}, fsync ${fsync})`,
          );
        }
        const appended = h.resolved.reduce((n, [, c]) => n + c, 0);
        console.log(
          `fsync ${fsync}: ${iterations} kills ${JSON.stringify(kills)}, ${appended} entries appended, acked up to ${h.ackLow}, ${h.reclaimKills} kills during a reclaim, ${quarantines} torn tails quarantined`,
        );
        expect(appended).toBeGreaterThan(iterations * 5);
        expect(h.ackLow).toBeGreaterThan(0);
        expect(h.reclaimKills).toBeGreaterThan(iterations / 20);
      },
    );
  }
});
