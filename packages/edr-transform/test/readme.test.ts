// The README's examples, run as written.
import { describe, expect, it } from "vitest";
import { createTransform, downsample, formatPoint, parseLines } from "../src/index.js";

describe("README examples", () => {
  it("replicates with the seed's rules", () => {
    const transform = createTransform({
      tables: ["cpu", "mem"],
      excludedFields: new Map([["cpu", new Set(["idle"])]]),
      fieldRenames: new Map([["cpu", new Map([["usage", "usage_pct"]])]]),
      tablesRename: new Map([["cpu", "cpu_remote"]]),
    });
    expect(
      transform.lines([
        "cpu,host=a usage=12.5,idle=87.5 1700000000000000000",
        "mem,host=a used=1i 1700000000000000000",
        "disk,host=a used=5i 1700000000000000000",
      ]),
    ).toEqual({
      items: [
        "cpu_remote,host=a usage_pct=12.5 1700000000000000000",
        "mem,host=a used=1i 1700000000000000000",
      ],
      dropped: 1,
      emptied: 0,
      rejected: [],
    });
    const [point] = parseLines('m,t=a\\ b f=1.5,n=9223372036854775807i,s="say \\"hi\\"" 1');
    expect(formatPoint(point!)).toBe('m,t=a\\ b f=1.5,n=9223372036854775807i,s="say \\"hi\\"" 1');
  });

  it("downsamples in createTransform, between the exclusion and the renames", () => {
    expect(
      createTransform({
        excludedFields: new Map([["cpu", new Set(["core"])]]),
        fieldRenames: new Map([["cpu", new Map([["usage", "usage_pct"]])]]),
        downsampling: {
          intervalMs: 60_000,
          aggregations: { fields: new Map([["cpu", new Map([["usage", "max" as const]])]]) },
        },
      }).lines([
        "cpu,host=a,core=0 usage=10 1700000005000000000",
        "cpu,host=a,core=1 usage=30 1700000030000000000",
      ]),
    ).toEqual({
      items: ["cpu,host=a usage_pct=30 1699999980000000000"],
      dropped: 0,
      emptied: 0,
      rejected: [],
      downsampled: 2,
      problems: [],
    });
  });

  it("downsamples into minute buckets", () => {
    const out = downsample({
      intervalMs: 60_000,
      aggregations: { fields: new Map([["cpu", new Map([["temp", "max" as const]])]]) },
    })(
      parseLines(
        "cpu,host=a usage=10,temp=40i 1700000005000000000\n" +
          "cpu,host=a usage=20,temp=42i 1700000030000000000\n" +
          "cpu,host=a usage=30,temp=41i 1700000065000000000",
      ),
    ).points.map(formatPoint);
    expect(out).toEqual([
      "cpu,host=a usage=15,temp=42i 1699999980000000000",
      "cpu,host=a usage=30,temp=41i 1700000040000000000",
    ]);
  });
});
