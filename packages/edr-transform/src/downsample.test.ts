import { describe, expect, it } from "vitest";
import { createDownsampler, downsample } from "./downsample.js";
import { parseLines } from "./parse.js";

const MS = 1_000_000n;

describe("downsample", () => {
  it("makes one point per table, tag set and epoch-aligned bucket, stamped with the bucket start", () => {
    const points = parseLines(
      [
        "cpu,host=a usage=1,n=1i 1000000000",
        "cpu,host=b usage=10,n=5i 1500000000",
        "cpu,host=a usage=3,n=3i 1999999999",
        "cpu,host=a usage=5,n=5i 2000000000",
      ].join("\n"),
    );
    const { points: out, problems } = downsample({ intervalMs: 1000 })(points);
    expect(problems).toEqual([]);
    expect(out).toEqual(
      parseLines(
        [
          "cpu,host=a usage=2,n=2 1000000000",
          "cpu,host=b usage=10,n=5 1000000000",
          "cpu,host=a usage=5,n=5 2000000000",
        ].join("\n"),
      ),
    );
  });

  it("floors negative timestamps into the bucket before the epoch, like DATE_BIN", () => {
    const { points } = downsample({ intervalMs: 1 })(parseLines("m f=1 -1\nm f=3 -999999\nm f=5 -1000001"));
    expect(points.map((p) => p.timestamp)).toEqual([-2n * MS, -MS]);
    expect(points.map((p) => p.fields.f!.value)).toEqual([5, 2]);
  });

  it("computes every aggregation with its documented output type", () => {
    const lines = [
      'm i=3i,u=3u,f=1.5,s="b",b=true 1',
      'm i=1i,u=1u,f=0.5,s="a",b=false 2',
      'm i=2i,u=10u,f=4,s="c",b=true 3',
    ];
    const points = parseLines(lines.join("\n"));
    const run = (fn: "avg" | "sum" | "min" | "max" | "count" | "first" | "last" | "median") =>
      downsample({ intervalMs: 1000, aggregations: { default: fn } })(points).points[0]!.fields;
    expect(run("avg")).toEqual({
      i: { type: "float", value: 2 },
      u: { type: "float", value: 14 / 3 },
      f: { type: "float", value: 2 },
      s: { type: "string", value: "c" },
      b: { type: "boolean", value: true },
    });
    expect(run("sum")).toMatchObject({
      i: { type: "integer", value: 6n },
      u: { type: "unsigned", value: 14n },
      f: { type: "float", value: 6 },
    });
    expect(run("min")).toEqual({
      i: { type: "integer", value: 1n },
      u: { type: "unsigned", value: 1n },
      f: { type: "float", value: 0.5 },
      s: { type: "string", value: "a" },
      b: { type: "boolean", value: false },
    });
    expect(run("max")).toMatchObject({
      i: { value: 3n },
      u: { value: 10n },
      f: { value: 4 },
      s: { value: "c" },
      b: { value: true },
    });
    expect(run("count")).toEqual(
      Object.fromEntries(["i", "u", "f", "s", "b"].map((k) => [k, { type: "integer", value: 3n }])),
    );
    expect(run("first")).toMatchObject({ i: { type: "integer", value: 3n }, s: { value: "b" } });
    expect(run("last")).toMatchObject({ i: { type: "integer", value: 2n }, s: { value: "c" } });
    expect(run("median")).toMatchObject({
      i: { type: "float", value: 2 },
      u: { type: "float", value: 3 },
      f: { type: "float", value: 1.5 },
    });
  });

  it("defaults to avg for numbers and last for strings and booleans, per table and field when configured", () => {
    const points = parseLines('cpu v=1,s="x",b=t 1\ncpu v=3,s="y",b=f 2\nmem v=1 1\nmem v=3 2');
    const { points: out } = downsample({
      intervalMs: 1000,
      aggregations: { fields: new Map([["mem", new Map([["v", "max" as const]])]]) },
    })(points);
    expect(out.map((p) => p.fields)).toEqual([
      {
        v: { type: "float", value: 2 },
        s: { type: "string", value: "y" },
        b: { type: "boolean", value: false },
      },
      { v: { type: "float", value: 3 } },
    ]);
  });

  it("sums integers exactly beyond 2^53 and reports a sum that leaves int64", () => {
    const big = "m i=9007199254740993i,j=9223372036854775807i";
    const points = parseLines(`${big} 1\n${big} 2`);
    const { points: out, problems } = downsample({ intervalMs: 1000, aggregations: { default: "sum" } })(
      points,
    );
    expect(out[0]!.fields).toEqual({ i: { type: "integer", value: 18014398509481986n } });
    expect(problems).toEqual([
      'field "j" of "m" at 0: the integer sum 18446744073709551614 leaves the int64 range',
    ]);
    const avg = downsample({ intervalMs: 1000 })(
      parseLines("m i=9223372036854775807i 1\nm i=9223372036854775805i 2"),
    );
    expect(avg.points[0]!.fields.i).toEqual({ type: "float", value: Number(9223372036854775806n) });
  });

  it("reports a field whose type changes within a bucket, and points without a timestamp", () => {
    const { points, problems } = downsample({ intervalMs: 1000 })(parseLines("m f=1 1\nm f=2i 2\nm f=3"));
    expect(points[0]!.fields.f).toEqual({ type: "float", value: 1 });
    expect(problems).toHaveLength(2);
  });

  it("refuses an interval that is not a positive integer and unknown aggregations", () => {
    expect(() => downsample({ intervalMs: 0 })).toThrow(/intervalMs: expected a positive integer, got 0/);
    expect(() => downsample({ intervalMs: 1.5 })).toThrow(/intervalMs/);
    expect(() => downsample({ intervalMs: 1, aggregations: { default: "mean" as "avg" } })).toThrow(
      /got "mean"/,
    );
  });
});

describe("createDownsampler", () => {
  it("emits a bucket only once closed, exposes the open ones, and refuses late points for emitted buckets", () => {
    const d = createDownsampler({ intervalMs: 10 });
    d.add(parseLines("m,h=a f=1 1000000\nm,h=a f=3 9000000\nm,h=a f=10 10000000"));
    expect(d.oldestOpenStartNs()).toBe(0n);
    expect(d.openBuckets().map((b) => [b.startNs, b.endNs, b.pointCount, b.partial.fields.f!.value])).toEqual(
      [
        [0n, 10n * MS, 2, 2],
        [10n * MS, 20n * MS, 1, 10],
      ],
    );
    expect(d.flushClosed(9_999_999n).points).toEqual([]);
    const closed = d.flushClosed(10n * MS);
    expect(closed.points).toEqual(parseLines("m,h=a f=2 0"));
    const added = d.add(parseLines("m,h=a f=100 5000000\nm,h=a f=20 15000000"));
    expect(added.added).toBe(1);
    expect(added.late.map((p) => p.fields.f!.value)).toEqual([100]);
    expect(d.flushAll().points).toEqual(parseLines("m,h=a f=15 10000000"));
    expect(d.openBuckets()).toEqual([]);
    expect(d.oldestOpenStartNs()).toBeUndefined();
  });

  it("treats tag sets with the same tags in another order as one series", () => {
    const d = createDownsampler({ intervalMs: 1000 });
    d.add([
      {
        measurement: "m",
        tags: { a: "1", b: "2" },
        fields: { f: { type: "float", value: 1 } },
        timestamp: 1n,
      },
      {
        measurement: "m",
        tags: { b: "2", a: "1" },
        fields: { f: { type: "float", value: 3 } },
        timestamp: 2n,
      },
    ]);
    expect(d.flushAll().points).toEqual([
      {
        measurement: "m",
        tags: { a: "1", b: "2" },
        fields: { f: { type: "float", value: 2 } },
        timestamp: 0n,
      },
    ]);
  });
});
