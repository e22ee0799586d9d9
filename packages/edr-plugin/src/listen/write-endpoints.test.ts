import { describe, expect, it } from "vitest";
import { invalidPrecisionMessage, readWriteParams, writeApiOf, writesTo } from "./write-endpoints.js";

const params = (api: "v3" | "v2" | "v1", query: string) => readWriteParams(api, new URLSearchParams(query));

describe("write endpoints", () => {
  it("knows the three write paths exactly", () => {
    expect(writeApiOf("/api/v3/write_lp")).toBe("v3");
    expect(writeApiOf("/api/v2/write")).toBe("v2");
    expect(writeApiOf("/write")).toBe("v1");
    expect(writeApiOf("/write/")).toBeUndefined();
    expect(writeApiOf("/api/v3/query_sql")).toBeUndefined();
  });

  it("reads v3's db and every precision spelling, auto by default", () => {
    expect(params("v3", "db=edge")).toEqual({ database: "edge", precision: "auto", unit: "auto" });
    for (const [precision, unit] of [
      ["auto", "auto"],
      ["nanosecond", "ns"],
      ["microsecond", "us"],
      ["millisecond", "ms"],
      ["second", "s"],
      ["ns", "ns"],
      ["us", "us"],
      ["ms", "ms"],
      ["s", "s"],
    ]) {
      expect(params("v3", `db=edge&precision=${precision}&accept_partial=false&no_sync=true`).unit).toBe(
        unit,
      );
    }
    expect(params("v3", "db=edge&precision=n").unit).toBeUndefined();
  });

  it("reads v2's bucket (org ignored) and ns/us/ms/s, ns by default", () => {
    expect(params("v2", "bucket=edge&org=x")).toEqual({ database: "edge", precision: "ns", unit: "ns" });
    expect(params("v2", "bucket=edge&precision=us").unit).toBe("us");
    expect(params("v2", "bucket=edge&precision=u").unit).toBeUndefined();
    expect(params("v2", "db=edge").database).toBeNull();
  });

  it("reads v1's db and n/ns/u/ms/s (and 1.x's m/h), ns by default, u/p left alone", () => {
    expect(params("v1", "db=edge&rp=autogen&u=me&p=secret")).toEqual({
      database: "edge",
      precision: "ns",
      unit: "ns",
    });
    expect(params("v1", "db=edge&precision=n").unit).toBe("ns");
    expect(params("v1", "db=edge&precision=u").unit).toBe("us");
    expect(params("v1", "db=edge&precision=h").unit).toBe("h");
    expect(params("v1", "db=edge&precision=").unit).toBe("ns");
    expect(params("v1", "db=edge&precision=us").unit).toBeUndefined();
  });

  it("matches the replicated database, and a v2 bucket db/rp to it", () => {
    expect(writesTo("v3", "edge", "edge")).toBe(true);
    expect(writesTo("v3", "edge2", "edge")).toBe(false);
    expect(writesTo("v1", null, "edge")).toBe(false);
    expect(writesTo("v2", "edge/autogen", "edge")).toBe(true);
    expect(writesTo("v1", "edge/autogen", "edge")).toBe(false);
  });

  it("says which precisions it takes when it refuses one", () => {
    expect(invalidPrecisionMessage("v1", "us")).toMatchInlineSnapshot(
      `"invalid precision "us": expected one of n, ns, u, ms, s, m, h"`,
    );
  });
});
