import { describe, expect, it } from "vitest";
import { planInfluxQLColumns, selectRowsQuery, toColumnInfo } from "./influxql-columns.js";

describe("planInfluxQLColumns", () => {
  it("types fields from SHOW FIELD KEYS and tags as dictionaries, sorted by name", () => {
    const columns = planInfluxQLColumns(
      [
        ["usage", "float"],
        ["count", "integer"],
        ["big", "unsigned"],
        ["note", "string"],
        ["ok", "boolean"],
      ],
      ["host", "region"],
    );
    expect(toColumnInfo("cpu", columns)).toEqual([
      { table_name: "cpu", column_name: "time", data_type: "Timestamp(ns)" },
      { table_name: "cpu", column_name: "big", data_type: "UInt64" },
      { table_name: "cpu", column_name: "count", data_type: "Int64" },
      { table_name: "cpu", column_name: "host", data_type: "Dictionary(Int32, Utf8)" },
      { table_name: "cpu", column_name: "note", data_type: "Utf8" },
      { table_name: "cpu", column_name: "ok", data_type: "Boolean" },
      { table_name: "cpu", column_name: "region", data_type: "Dictionary(Int32, Utf8)" },
      { table_name: "cpu", column_name: "usage", data_type: "Float64" },
    ]);
  });

  it("names a tag that shares its key with a field <key>_1, or the next free suffix", () => {
    const columns = planInfluxQLColumns(
      [
        ["x", "float"],
        ["x_1", "integer"],
      ],
      ["x", "h"],
    );
    expect(columns).toEqual([
      { key: "h", kind: "tag", name: "h", dataType: "Dictionary(Int32, Utf8)" },
      { key: "x", kind: "field", name: "x", dataType: "Float64" },
      { key: "x_1", kind: "field", name: "x_1", dataType: "Int64" },
      { key: "x", kind: "tag", name: "x_2", dataType: "Dictionary(Int32, Utf8)" },
    ]);
  });

  it("refuses a field with two types and an unknown type", () => {
    expect(() =>
      planInfluxQLColumns(
        [
          ["v", "float"],
          ["v", "integer"],
        ],
        [],
      ),
    ).toThrow('field "v" has two types (Float64 and Int64, in different shards)');
    expect(() => planInfluxQLColumns([["v", "constructor"]], [])).toThrow(
      'field "v" has type "constructor", expected float, integer, unsigned, string or boolean',
    );
  });

  it("leaves out keys named time", () => {
    expect(
      planInfluxQLColumns(
        [
          ["time", "float"],
          ["v", "float"],
        ],
        ["time"],
      ).map((c) => c.name),
    ).toEqual(["v"]);
  });
});

describe("selectRowsQuery", () => {
  it("selects every column by key and kind, with integer ns bounds", () => {
    const columns = planInfluxQLColumns([["x", "float"]], ["x", 'a"b']);
    expect(selectRowsQuery('m "1"', columns, -5n, 9_223_372_036_854_775_807n)).toBe(
      'SELECT "a\\"b"::tag, "x"::field, "x"::tag FROM "m \\"1\\"" ' +
        "WHERE time >= -5 AND time < 9223372036854775807 ORDER BY time ASC",
    );
  });
});
