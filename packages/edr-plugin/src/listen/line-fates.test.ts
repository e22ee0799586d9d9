import { describe, expect, it } from "vitest";
import { findLineFates } from "./line-fates.js";
import type { StoredVerdict } from "./write-outcome.js";

/** A 1.x-like local: stores the good lines of each batch, answers "unknown" when any line of it is bad. */
function oneX(bad: ReadonlySet<number>) {
  const sends: number[][] = [];
  const stored = new Set<number>();
  const resend = async (positions: readonly number[]): Promise<StoredVerdict> => {
    sends.push([...positions]);
    for (const p of positions) if (!bad.has(p)) stored.add(p);
    const anyBad = positions.some((p) => bad.has(p));
    if (!anyBad) return { kind: "all" };
    return positions.every((p) => bad.has(p))
      ? { kind: "none" }
      : { kind: "unknown", reason: "partial write" };
  };
  return { sends, stored, resend };
}

describe("findLineFates", () => {
  it("finds exactly which lines were stored by sending halves again, in order", async () => {
    const bad = new Set([1, 6, 7]);
    const local = oneX(bad);
    const fates = await findLineFates(10, { kind: "unknown", reason: "partial write" }, local.resend);
    expect(fates.stored).toEqual([0, 2, 3, 4, 5, 8, 9]);
    expect(fates.refused).toBe(3);
    expect(fates.undetermined).toBe(0);
    expect(fates.resent).toBe(local.sends.length);
    // Left parts go before right ones: the last value written to a point stays the last.
    expect(local.sends[0]).toEqual([0, 1, 2, 3, 4]);
    expect(local.sends[1]).toEqual([0, 1]);
  });

  it("treats one line answered unknown as refused", async () => {
    const fates = await findLineFates(1, { kind: "unknown", reason: "x" }, async () => ({ kind: "all" }));
    expect(fates).toEqual({ stored: [], refused: 1, undetermined: 0, resent: 0 });
  });

  it("uses a partial-write answer to a part as it is", async () => {
    const rejected = new Map([[1, "bad"]]);
    const fates = await findLineFates(4, { kind: "unknown", reason: "x" }, async (positions) =>
      positions[0] === 0 ? { kind: "some", rejected } : { kind: "all" },
    );
    expect(fates.stored).toEqual([0, 2, 3]);
    expect(fates.refused).toBe(1);
  });

  it("stops at the first failed re-send and counts what it could not find out", async () => {
    let calls = 0;
    const fates = await findLineFates(8, { kind: "unknown", reason: "x" }, async () => {
      calls++;
      if (calls === 2) throw new Error("connection refused");
      return { kind: "unknown", reason: "x" };
    });
    expect(fates.failure).toBe("connection refused");
    expect(fates.stored.length + fates.refused + fates.undetermined).toBe(8);
    expect(fates.undetermined).toBeGreaterThan(0);
  });

  it("takes all and none verdicts without sending anything", async () => {
    const never = async (): Promise<StoredVerdict> => {
      throw new Error("not expected");
    };
    expect((await findLineFates(3, { kind: "all" }, never)).stored).toEqual([0, 1, 2]);
    expect((await findLineFates(3, { kind: "none" }, never)).refused).toBe(3);
  });
});
