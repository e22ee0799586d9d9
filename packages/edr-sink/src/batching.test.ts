import { describe, expect, it } from "vitest";
import { isSkippableLine, planBatches } from "./batching.js";
import { seriesKey } from "./series.js";

describe("isSkippableLine", () => {
  it("skips empty, blank and comment lines only", () => {
    expect(["", "  ", "\t", "# note", "  # note"].map(isSkippableLine)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["cpu f=1", " cpu f=1", "cpu,#=1 f=1"].map(isSkippableLine)).toEqual([false, false, false]);
  });
});

describe("planBatches", () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `m,host=h${i % 37} f=${i} ${i}`);

  it("sends everything in one batch when it fits", () => {
    const plan = planBatches(lines, 4, { batchLines: 1000, batchBytes: 1e9 });
    expect(plan.lanes).toEqual([[lines.map((_, i) => i)]]);
  });

  it("bounds batches by lines and by bytes", () => {
    const byLines = planBatches(lines, 1, { batchLines: 100, batchBytes: 1e9 });
    expect(byLines.lanes[0]!.map((b) => b.length)).toEqual(Array(10).fill(100));
    const byBytes = planBatches(lines, 2, { batchLines: 1e9, batchBytes: 2000 });
    for (const lane of byBytes.lanes) {
      for (const batch of lane) {
        const bytes = batch.reduce((sum, i) => sum + Buffer.byteLength(lines[i]!) + 1, 0);
        expect(bytes).toBeLessThanOrEqual(2000);
      }
    }
  });

  it("counts bytes as UTF-8", () => {
    const wide = ['m f="ééééé"', 'm f="ééééé"']; // 16 bytes + newline each
    expect(planBatches(wide, 1, { batchLines: 10, batchBytes: 34 }).lanes[0]).toHaveLength(1);
    expect(planBatches(wide, 1, { batchLines: 10, batchBytes: 33 }).lanes[0]).toHaveLength(2);
  });

  it("gives an oversized line a batch of its own", () => {
    const plan = planBatches(["a f=1", 'b f="' + "x".repeat(100) + '"', "c f=1"], 1, {
      batchLines: 10,
      batchBytes: 20,
    });
    expect(plan.lanes[0]).toEqual([[0], [1], [2]]);
  });

  it("keeps each series in one lane, in order, and loses no line", () => {
    const plan = planBatches(lines, 4, { batchLines: 50, batchBytes: 1e9 });
    expect(plan.lanes.length).toBe(4);
    const laneOf = new Map<string, number>();
    const seen: number[] = [];
    plan.lanes.forEach((lane, l) => {
      let last = -1;
      for (const batch of lane) {
        for (const i of batch) {
          const key = seriesKey(lines[i]!);
          expect(laneOf.get(key) ?? l).toBe(l);
          laneOf.set(key, l);
          expect(i).toBeGreaterThan(last);
          last = i;
          seen.push(i);
        }
      }
    });
    expect(seen.sort((a, b) => a - b)).toEqual(lines.map((_, i) => i));
  });

  it("leaves out blank and comment lines", () => {
    const plan = planBatches(["a f=1", "", "# c", "b f=1"], 1, { batchLines: 10, batchBytes: 1e9 });
    expect(plan.lanes).toEqual([[[0, 3]]]);
    expect(plan.skipped).toEqual([1, 2]);
  });
});
