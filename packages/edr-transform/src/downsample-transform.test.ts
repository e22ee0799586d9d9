import { describe, expect, it } from "vitest";
import { TransformError } from "./errors.js";
import { formatPoints } from "./format.js";
import { parseLines } from "./parse.js";
import type { ReplicationRules } from "./rules.js";
import { composeTransforms, createTransform } from "./transform.js";

const S = 1_000_000_000n;
/** A timestamp `s` seconds after the epoch, in ns, as line-protocol text. */
const at = (s: number) => String(BigInt(s) * S);

const rules: ReplicationRules = {
  tables: new Set(["cpu", "mem"]),
  excludedFields: new Map([["cpu", new Set(["idle", "core"])]]),
  fieldRenames: new Map([["cpu", new Map([["usage", "usage_pct"]])]]),
  tablesRename: new Map([["cpu", "cpu_remote"]]),
  downsampling: {
    intervalMs: 60_000,
    aggregations: { fields: new Map([["cpu", new Map([["usage", "max" as const]])]]) },
  },
};

const input = [
  `cpu,host=a,core=0 usage=10,idle=90,temp=40i ${at(0)}`,
  `cpu,host=a,core=1 usage=30,idle=70,temp=42i ${at(30)}`,
  `cpu,host=a,core=0 usage=20,idle=80,temp=44i ${at(60)}`,
  `mem,host=a used=1i ${at(59)}`,
  `mem,host=a used=3i ${at(1)}`,
  `disk,host=a used=5i ${at(2)}`,
];

describe("createTransform with downsampling", () => {
  it("excludes, then downsamples by local names into epoch-aligned buckets, then renames", () => {
    const result = createTransform(rules).lines(input);
    // core is excluded before downsampling, so cores 0 and 1 fold into one series; usage gets max by its local
    // name and is renamed after; temp (no rule) gets avg; mem keeps its name; disk is filtered out.
    expect(result).toEqual({
      items: [
        `cpu_remote,host=a usage_pct=30,temp=41 ${at(0)}`,
        `mem,host=a used=2 ${at(0)}`,
        `cpu_remote,host=a usage_pct=20,temp=44 ${at(60)}`,
      ],
      dropped: 1,
      emptied: 0,
      rejected: [],
      downsampled: 5,
      problems: [],
    });
  });

  it("gives the same points from points as from lines", () => {
    const transform = createTransform(rules);
    const fromPoints = transform.points(input.flatMap((line) => parseLines(line)));
    expect(formatPoints(fromPoints.items)).toEqual(transform.lines(input).items);
    expect(fromPoints.downsampled).toBe(5);
    expect(fromPoints.dropped).toBe(1);
  });

  it("buckets before the epoch by floor, stamped with the bucket start", () => {
    const t = createTransform({ downsampling: { intervalMs: 1000 } });
    expect(t.lines([`m v=1 ${-1n}`, `m v=3 ${-S}`, `m v=5 0`]).items).toEqual([`m v=2 ${-S}`, "m v=5 0"]);
  });

  it("parses every line of a downsampled table: nothing passes through as its text", () => {
    const line = `m,t=x v=1.50 ${at(5)}`;
    const [item] = createTransform({ downsampling: { intervalMs: 10_000 } }).lines([line]).items;
    expect(item).toBe(`m,t=x v=1.5 ${at(0)}`);
  });

  it("counts every input once: dropped, emptied, rejected (with its input index) or downsampled", () => {
    const t = createTransform({
      tables: ["cpu"],
      excludedFields: new Map([["cpu", ["idle"]]]),
      downsampling: { intervalMs: 60_000 },
    });
    const lines = [
      "",
      "# a comment",
      `mem used=1i ${at(0)}`,
      `cpu idle=1 ${at(0)}`,
      "cpu usage=",
      "cpu usage=1",
      `cpu,h=a,h=b usage=1 ${at(0)}`,
      `cpu usage=1 ${at(0)}`,
      `cpu usage=3 ${at(1)}`,
    ];
    const result = t.lines(lines);
    expect(result.items).toEqual([`cpu usage=2 ${at(0)}`]);
    expect(result.dropped).toBe(3);
    expect(result.emptied).toBe(1);
    expect(result.rejected).toMatchInlineSnapshot(`
      [
        {
          "index": 4,
          "item": "cpu usage=",
          "reason": "column 11: expected a field value",
        },
        {
          "index": 5,
          "item": "cpu usage=1",
          "reason": "no timestamp: downsampling needs one to choose the point's time bucket",
        },
        {
          "index": 6,
          "item": "cpu,h=a,h=b usage=1 0",
          "reason": "column 9: tag "h" appears twice",
        },
      ]
    `);
    expect(result.downsampled).toBe(2);
    expect(result.dropped + result.emptied + result.rejected.length + result.downsampled!).toBe(lines.length);

    const points = t.points([
      { measurement: "cpu", tags: {}, fields: { usage: { type: "float", value: 1 } } },
    ]);
    expect(points.rejected.map(({ index, reason }) => [index, reason])).toEqual([
      [0, "no timestamp: downsampling needs one to choose the point's time bucket"],
    ]);
  });

  it("reports as problems what could not be aggregated, keeping the rest", () => {
    const t = createTransform({
      fieldRenames: new Map([["m", new Map([["a", "b"]])]]),
      downsampling: { intervalMs: 60_000, aggregations: { default: "sum", fields: new Map() } },
    });
    const result = t.lines([
      `m v=1i ${at(0)}`,
      `m v=1.5 ${at(1)}`,
      `m big=9223372036854775807i ${at(2)}`,
      `m big=1i ${at(3)}`,
      `m f=1e308 ${at(4)}`,
      `m f=1e308 ${at(5)}`,
      // In its own bucket a renames onto b, which another point of the bucket has.
      `m a=1 ${at(60)}`,
      `m b=2 ${at(61)}`,
    ]);
    expect(result.items).toEqual([`m v=1i ${at(0)}`]);
    expect(result.downsampled).toBe(8);
    expect(result.problems).toMatchInlineSnapshot(`
      [
        "field "v" of "m" is float at 1000000000 but integer earlier in its bucket: value left out",
        "field "big" of "m" at 0: the integer sum 9223372036854775808 leaves the int64 range",
        "field "f" of "m" at 0: the aggregate Infinity is not a finite float: value left out",
        "bucket 60000000000 of "m" left out: table "m": renaming "a" to "b" repeats a tag or field of that name",
      ]
    `);
  });

  it("leaves a result without downsampling as it was: no downsampled count, no problems, lines passed through", () => {
    const result = createTransform({ ...rules, downsampling: undefined }).lines(input);
    expect(result).not.toHaveProperty("downsampled");
    expect(result).not.toHaveProperty("problems");
    expect(result.items).toContain(input[3]);
  });

  it("checks columns against the renames, and refuses a bad interval or aggregation when built", () => {
    const t = createTransform(rules);
    expect(() => t.checkColumns("cpu", ["usage", "usage_pct"])).toThrow(/collides/);
    expect(() => createTransform({ downsampling: { intervalMs: 0 } })).toThrow(TransformError);
    expect(() =>
      createTransform({
        downsampling: { intervalMs: 1000, aggregations: { default: "mean" as "avg" } },
      }),
    ).toThrow(/aggregations: default: expected one of avg/);
    expect(() => composeTransforms(t)).toThrow(/without downsampling/);
  });
});
