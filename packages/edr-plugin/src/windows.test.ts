import { describe, expect, it } from "vitest";
import { chunkSpanNs, formatCallTime, formatNs, planRanges } from "./windows.js";

const S = 1_000_000_000n;
const H = 3600n * S;

describe("planRanges", () => {
  it("copies the window alone on a first run", () => {
    expect(
      planRanges({ endNs: 100n * S, windowNs: 10n * S, watermarkNs: undefined, catchUp: true, chunkNs: H }),
    ).toEqual([{ startNs: 90n * S, endNs: 100n * S }]);
  });

  it("catches up from the watermark after downtime, oldest first, in epoch-aligned chunks", () => {
    const ranges = planRanges({
      endNs: 5n * H + 10n * S,
      windowNs: 10n * S,
      watermarkNs: 2n * H - 30n * S,
      catchUp: true,
      chunkNs: H,
    });
    expect(ranges).toEqual([
      { startNs: 2n * H - 30n * S, endNs: 2n * H },
      { startNs: 2n * H, endNs: 3n * H },
      { startNs: 3n * H, endNs: 4n * H },
      { startNs: 4n * H, endNs: 5n * H },
      { startNs: 5n * H, endNs: 5n * H + 10n * S },
    ]);
    // No gap and no overlap between the chunks.
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.startNs).toBe(ranges[i - 1]!.endNs);
  });

  it("keeps the seed's behaviour with catch_up=false: the window alone, whatever the watermark", () => {
    expect(
      planRanges({ endNs: 5n * H, windowNs: 10n * S, watermarkNs: 1n * H, catchUp: false, chunkNs: H }),
    ).toEqual([{ startNs: 5n * H - 10n * S, endNs: 5n * H }]);
  });

  it("copies the whole window again when the watermark is inside it, as the seed does", () => {
    expect(
      planRanges({ endNs: 100n * S, windowNs: 60n * S, watermarkNs: 90n * S, catchUp: true, chunkNs: H }),
    ).toEqual([{ startNs: 40n * S, endNs: 100n * S }]);
  });

  it("with downsampling, copies whole buckets only: both ends floored to a bucket boundary", () => {
    const M = 60n * S;
    const plan = { windowNs: 10n * S, watermarkNs: undefined, catchUp: false, chunkNs: H, bucketNs: M };
    // every:10s, window=10s, 1-minute buckets: the call whose window holds a minute's end copies that minute.
    expect(planRanges({ ...plan, endNs: 61n * M + 5n * S })).toEqual([{ startNs: 60n * M, endNs: 61n * M }]);
    expect(planRanges({ ...plan, endNs: 61n * M + 15n * S })).toEqual([]);
    // A window cut mid-bucket reads that bucket from its start.
    expect(planRanges({ ...plan, windowNs: 90n * S, endNs: 10n * M })).toEqual([
      { startNs: 8n * M, endNs: 10n * M },
    ]);
    // Catching up from a watermark on a bucket boundary continues from it.
    expect(planRanges({ ...plan, catchUp: true, watermarkNs: 3n * M, endNs: 5n * M + 30n * S })).toEqual([
      { startNs: 3n * M, endNs: 5n * M },
    ]);
  });

  it("works before 1970", () => {
    expect(
      planRanges({
        endNs: -H + 10n * S,
        windowNs: 20n * S,
        watermarkNs: undefined,
        catchUp: true,
        chunkNs: H,
      }),
    ).toEqual([
      { startNs: -H - 10n * S, endNs: -H },
      { startNs: -H, endNs: -H + 10n * S },
    ]);
  });
});

describe("chunkSpanNs", () => {
  it("is an hour, or the smallest multiple of the bucket width at least an hour long", () => {
    expect(chunkSpanNs(undefined)).toBe(H);
    expect(chunkSpanNs(60n * S)).toBe(H);
    expect(chunkSpanNs(7n * 60n * S)).toBe(63n * 60n * S);
    expect(chunkSpanNs(24n * H)).toBe(24n * H);
  });
});

describe("formatting", () => {
  it("spells a call time as the seed logs it", () => {
    expect(formatCallTime(new Date("2025-05-14T16:31:10.000Z"))).toBe("2025-05-14 16:31:10 UTC");
  });

  it("prints ns timestamps with their whole fraction", () => {
    expect(formatNs(1n)).toBe("1970-01-01T00:00:00.000000001Z");
    expect(formatNs(1_747_240_270_000_000_000n)).toBe("2025-05-14T16:31:10.000Z");
    expect(formatNs(-1n)).toBe("1969-12-31T23:59:59.999999999Z");
  });
});
