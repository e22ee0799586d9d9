import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashSeries, seriesKey } from "./series.js";

describe("seriesKey", () => {
  it("stops at the first unescaped space", () => {
    expect(seriesKey("cpu,host=a usage=1 10")).toBe("cpu,host=a");
    expect(seriesKey("my\\ cpu,host=a\\ b,k\\=x=v usage=1")).toBe("my\\ cpu,host=a\\ b,k\\=x=v");
    expect(seriesKey("noSpace")).toBe("noSpace");
  });
  it("treats a backslash before anything else as a literal", () => {
    // As docs/influxdb3-wire.md says: `\\` is not an escape, so the backslash after it escapes the space.
    expect(seriesKey("m,t=a\\\\ f=1 2")).toBe("m,t=a\\\\ f=1");
    expect(seriesKey("m,t=C:\\path f=1")).toBe("m,t=C:\\path");
  });
});

describe("hashSeries", () => {
  it("is the same for every line of a series, whatever the fields and time", () => {
    expect(hashSeries("cpu,host=a usage=1 10")).toBe(hashSeries('cpu,host=a idle=2i,x="y z" 20'));
  });
  it("is the same whatever the order of the tags", () => {
    expect(hashSeries("cpu,a=1,b=2,c=3 f=1")).toBe(hashSeries("cpu,c=3,a=1,b=2 f=1"));
  });
  it("tells apart series that differ by measurement, tag or escape", () => {
    const keys = [
      "cpu,host=a",
      "cpu,host=b",
      "mem,host=a",
      "cpu",
      "cpu,host=a\\ b",
      "host=a,cpu",
      "cpu\\,host=a",
    ];
    const hashes = new Set(keys.map((k) => hashSeries(`${k} f=1`)));
    expect(hashes.size).toBe(keys.length);
  });
  it("spreads series evenly over lanes", () => {
    const lanes = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) lanes[hashSeries(`m,host=h${i} f=1`) % 4]!++;
    for (const n of lanes) expect(n).toBeGreaterThan(800);
  });
  it("depends only on the series key (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (key, rest) => {
        const k = seriesKey(key.replace(/ /g, "\\ "));
        // A key ending in a backslash would escape the space that ends it: no line has such a key.
        fc.pre(!k.endsWith("\\"));
        expect(hashSeries(`${k} ${rest}`)).toBe(hashSeries(`${k} other=1`));
      }),
    );
  });
});
