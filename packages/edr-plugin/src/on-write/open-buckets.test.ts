import type { Point } from "edr-transform";
import { describe, expect, it } from "vitest";
import { OpenBuckets } from "./open-buckets.js";

const point = (fields: Point["fields"], timestamp: bigint, tags: Point["tags"] = { host: "a" }): Point => ({
  measurement: "cpu",
  tags,
  fields,
  timestamp,
});
const int = (value: bigint) => ({ type: "integer" as const, value });

describe("OpenBuckets", () => {
  it("holds one point per series and time, merged as InfluxDB merges a point written again", () => {
    const open = new OpenBuckets();
    expect(open.add(point({ a: int(1n) }, 1n), 60n)).toBe("added");
    expect(open.add(point({ a: int(1n) }, 1n), 60n)).toBe("duplicate");
    expect(open.add(point({ b: int(2n) }, 1n), 60n)).toBe("merged");
    expect(open.add(point({ a: int(5n) }, 1n), 60n)).toBe("merged");
    // Tags in another order name the same series; another tag value, another series.
    expect(open.add(point({ a: int(5n) }, 1n, { host: "a" }), 60n)).toBe("duplicate");
    expect(open.add(point({ a: int(9n) }, 1n, { host: "b" }), 60n)).toBe("added");
    expect(open.takeClosed(60n).map((p) => [p.tags["host"], p.fields])).toEqual([
      ["a", { a: int(5n), b: int(2n) }],
      ["b", { a: int(9n) }],
    ]);
    expect(open.oldestEndNs()).toBeUndefined();
  });

  it("takes out the buckets that closed, oldest first, and keeps the others", () => {
    const open = new OpenBuckets();
    open.add(point({ a: int(3n) }, 130n), 180n);
    open.add(point({ a: int(2n) }, 70n), 120n);
    open.add(point({ a: int(1n) }, 10n), 60n);
    expect(open.oldestEndNs()).toBe(60n);
    expect(open.takeClosed(120n).map((p) => p.timestamp)).toEqual([10n, 70n]);
    expect(open.oldestEndNs()).toBe(180n);
  });

  it("keeps a field named __proto__ as a field", () => {
    const open = new OpenBuckets();
    open.add(point({ v: int(1n) }, 1n), 60n);
    const fields = JSON.parse('{"__proto__":{"type":"string","value":"x"}}') as Point["fields"];
    open.add(point(fields, 1n), 60n);
    const [held] = open.takeClosed(60n);
    expect(Object.keys(held!.fields)).toEqual(["v", "__proto__"]);
  });
});
