import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, expect } from "vitest";
import type { QueueEntry } from "../src/index.js";

const dirs: string[] = [];

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
  const file = basename(expect.getState().testPath ?? "unknown", ".ts");
  const dir = mkdtempSync(join(tmpdir(), `edr-queue-${file}-`));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The i-th entry of a deterministic sequence (line protocol of about 120 bytes). */
export function entry(i: number): QueueEntry {
  return {
    table: `cpu${i % 3}`,
    line: `cpu${i % 3},host=server${i % 50},region=eu-west-1 usage_user=${(i % 997) / 10},usage_system=${i}i ${1_700_000_000_000_000_000n + BigInt(i)}`,
  };
}

export function entries(from: number, count: number): QueueEntry[] {
  return Array.from({ length: count }, (_, k) => entry(from + k));
}

/** Index of an entry produced by `entry`, from its line. */
export function indexOf(e: QueueEntry): number {
  return Number(/usage_system=(\d+)i/.exec(e.line)![1]);
}
