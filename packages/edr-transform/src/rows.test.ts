import { LosslessNumber, parse as parseLossless } from "lossless-json";
import { describe, expect, it } from "vitest";
import { parseLines } from "./parse.js";
import { createRowConverter, rowsToLines, rowsToPoints, type ColumnInfo, type Row } from "./rows.js";

const columns: ColumnInfo[] = [
  { table_name: "cpu", column_name: "region", data_type: "Dictionary(Int32, Utf8)" },
  { table_name: "cpu", column_name: "host", data_type: "Dictionary(Int32, Utf8)" },
  { table_name: "cpu", column_name: "big", data_type: "Int64" },
  { table_name: "cpu", column_name: "count", data_type: "UInt64" },
  { table_name: "cpu", column_name: "ok", data_type: "Boolean" },
  { table_name: "cpu", column_name: "note", data_type: "Utf8" },
  { table_name: "cpu", column_name: "time", data_type: "Timestamp(Nanosecond, None)" },
  { table_name: "cpu", column_name: "usage", data_type: "Float64" },
  { table_name: "mem", column_name: "used", data_type: "Float64" },
  { table_name: "mem", column_name: "time", data_type: "Timestamp(ns)" },
];

describe("rowsToPoints and rowsToLines", () => {
  it("converts rows the SQL endpoint sends, read with a lossless JSON parser, exactly", () => {
    const body =
      '[{"big":9223372036854775807,"count":18446744073709551615,"host":"a b","note":"say \\"hi\\"","ok":true,"region":"eu","time":"2025-01-20T17:01:40.690067","usage":21.0},' +
      '{"big":-9223372036854775808,"host":"c","time":"1970-01-01T00:00:00.000000001","usage":5e-324}]';
    const rows = parseLossless(body) as Row[];
    const lines = rowsToLines("cpu", rows, columns);
    expect(lines).toEqual({
      items: [
        'cpu,host=a\\ b,region=eu big=9223372036854775807i,count=18446744073709551615u,ok=true,note="say \\"hi\\"",usage=21.0 1737392500690067000',
        "cpu,host=c big=-9223372036854775808i,usage=5e-324 1",
      ],
      skipped: 0,
      rejected: [],
    });
    const points = rowsToPoints("cpu", rows, columns);
    expect(points.items).toEqual(parseLines(lines.items.join("\n")));
    expect(points.items[0]!.fields.big).toEqual({ type: "integer", value: 9223372036854775807n });
  });

  it("accepts integers as exact text, bigint, safe numbers and lossless numbers, and time as int ns", () => {
    const rows: Row[] = [
      { big: "12", usage: 1, time: 1700000000000000000n },
      { big: 13n, usage: "2.5", time: "1700000000000000001" },
      { big: 14, usage: new LosslessNumber("3"), time: new LosslessNumber("1700000000000000002") },
      { big: new LosslessNumber("15"), usage: 4n, time: 17 },
    ];
    expect(rowsToLines("cpu", rows, columns).items).toEqual([
      "cpu big=12i,usage=1 1700000000000000000",
      "cpu big=13i,usage=2.5 1700000000000000001",
      "cpu big=14i,usage=3 1700000000000000002",
      "cpu big=15i,usage=4 17",
    ]);
  });

  it("treats missing and null columns as NULL and leaves empty tags out", () => {
    const rows: Row[] = [{ host: "", region: null, usage: 1, big: null, time: 0 }];
    expect(rowsToLines("cpu", rows, columns).items).toEqual(["cpu usage=1 0"]);
  });

  it("skips and counts rows with no field left", () => {
    const rows: Row[] = [
      { host: "a", time: 1 },
      { host: "a", usage: null, time: 2 },
      { usage: 1, time: 3 },
    ];
    expect(rowsToLines("cpu", rows, columns)).toMatchObject({ items: ["cpu usage=1 3"], skipped: 2 });
    expect(rowsToPoints("cpu", rows, columns)).toMatchObject({ skipped: 2 });
  });

  it("rejects rows whose cells do not fit, naming table, column and value, and keeps the others", () => {
    const rows: Row[] = [
      { usage: NaN, time: 1 },
      { big: 2 ** 60, time: 2 },
      { big: "1.5", time: 3 },
      { count: -1, time: 4 },
      { host: 5, usage: 1, time: 5 },
      { usage: 1, time: "yesterday" },
      { usage: 1, time: "2025-02-30T00:00:00" },
      { usage: 1, time: 6, surprise: 1 },
      { usage: "Infinity", time: 7 },
      { host: "tab\there", usage: 1, time: 8 },
      { usage: 2, time: 9 },
    ];
    const result = rowsToLines("cpu", rows, columns);
    expect(result.items).toEqual(["cpu usage=2 9"]);
    expect(result.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(result.rejected[0]!.reason).toBe('table "cpu", column "usage": expected a finite float, got NaN');
    expect(result.rejected[1]!.reason).toMatch(
      /column "big": expected an int64 .* got number 1152921504606847000/,
    );
    expect(result.rejected[7]!.reason).toBe(
      'table "cpu": column "surprise" is not in the schema (read the schema again)',
    );
    expect(rowsToPoints("cpu", rows, columns).rejected.map((r) => r.index)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  });

  it("builds each line from its own row only, whatever the rows before it held or lacked", () => {
    const rows: Row[] = [
      { host: "a", region: "eu", usage: 1, big: "1", note: "x", time: 1 },
      { host: "b", usage: 2, big: 5.5, note: "y", time: 2 },
      { usage: 3, time: 3 },
      { host: "c", region: "us", usage: 4, big: "4", count: 4, ok: true, note: "z", time: "bad" },
      { usage: 5, time: 5 },
    ];
    expect(rowsToLines("cpu", rows, columns).items).toEqual([
      'cpu,host=a,region=eu big=1i,note="x",usage=1 1',
      "cpu usage=3 3",
      "cpu usage=5 5",
    ]);
  });

  it("writes every series right when series repeat, and past the number of series it remembers", () => {
    const rows: Row[] = [];
    for (let i = 0; i < 12_000; i++) {
      const host = i % 3 === 0 ? "h" + i : "a,b " + (i % 7);
      rows.push({ host, region: i % 5 === 0 ? null : "eu", usage: i, time: i });
    }
    const converter = createRowConverter("cpu", columns);
    for (let pass = 0; pass < 2; pass++) {
      const { items } = converter.toLines(rows);
      expect(items).toHaveLength(rows.length);
      items.forEach((line, i) => {
        const [point] = parseLines(line);
        expect(point!.tags).toEqual(
          i % 5 === 0 ? { host: rows[i]!.host } : { host: rows[i]!.host, region: "eu" },
        );
      });
    }
  });

  it("ignores the iox::measurement key of InfluxQL results", () => {
    expect(rowsToLines("mem", [{ "iox::measurement": "mem", used: 1, time: 2 }], columns).items).toEqual([
      "mem used=1 2",
    ]);
  });

  it("converts rows as the engine passes them to process_writes (time as int ns, None for absent columns)", () => {
    const rows: Row[] = [
      { host: "a", region: null, usage: 0.5, big: null, count: null, ok: null, note: null, time: 5n },
    ];
    expect(rowsToPoints("cpu", rows, columns).items).toEqual([
      {
        measurement: "cpu",
        tags: { host: "a" },
        fields: { usage: { type: "float", value: 0.5 } },
        timestamp: 5n,
      },
    ]);
  });

  it("reads a NULL column named like an Object.prototype member as NULL, not as the inherited member", () => {
    const names = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"];
    const schema: ColumnInfo[] = [
      { column_name: "time", data_type: "Timestamp(ns)" },
      { column_name: "v", data_type: "Float64" },
      ...names.map((name, i) => ({
        column_name: name,
        data_type: i < 2 ? "Dictionary(Int32, Utf8)" : "Int64",
      })),
    ];
    const converter = createRowConverter("m", schema);
    // Every such column is missing from the row (NULL), as the SQL endpoint leaves NULLs out.
    const rows: Row[] = [{ time: 1n, v: 1.5 }];
    expect(converter.toLines(rows)).toEqual({ items: ["m v=1.5 1"], skipped: 0, rejected: [] });
    expect(converter.toPoints(rows).items).toEqual([
      { measurement: "m", tags: {}, fields: { v: { type: "float", value: 1.5 } }, timestamp: 1n },
    ]);
    // Present, they are ordinary columns.
    const full = JSON.parse(
      '{"time":2,"v":2.5,"constructor":"c","toString":"s","__proto__":7,"hasOwnProperty":8,"valueOf":9}',
    ) as Row;
    expect(converter.toLines([full]).items).toEqual([
      "m,constructor=c,toString=s v=2.5,__proto__=7i,hasOwnProperty=8i,valueOf=9i 2",
    ]);
  });

  it("refuses a schema it cannot convert", () => {
    expect(() =>
      createRowConverter("x", [
        { column_name: "time", data_type: "Timestamp(ns)" },
        { column_name: "d", data_type: "Decimal(10,2)" },
      ]),
    ).toThrow(/column "d" has type "Decimal\(10,2\)", expected Dictionary\(Int32, Utf8\), Int64/);
    expect(() => createRowConverter("x", [{ column_name: "v", data_type: "Float64" }])).toThrow(
      /no "time" column/,
    );
  });
});
