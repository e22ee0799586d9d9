import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IssueList } from "./errors.js";
import { readExcludedFields, readFieldRenames, readTables, readTablesRename } from "./names.js";

/** Runs a reader; returns its result, or the messages of the issues it added. */
function run<T>(read: (issues: IssueList) => T | undefined): T | string[] {
  const issues = new IssueList();
  const result = read(issues);
  if (issues.size > 0) return issues.list().map((issue) => issue.message);
  if (result === undefined) throw new Error("a reader returned nothing without an issue");
  return result;
}

const tables = (value: string) => run((issues) => readTables("tables", value, issues));
const excluded = (value: string, legacy?: string) =>
  run((issues) => readExcludedFields("excluded_fields", value, issues, legacy));
const tablesRename = (value: string) => run((issues) => readTablesRename("tables_rename", value, issues));
const fieldRenames = (value: string, legacy?: string) =>
  run((issues) => readFieldRenames("field_renames", value, issues, legacy));

describe("tables", () => {
  it("reads a dot-separated list, in order", () => {
    expect(tables("table1.table2")).toEqual(new Set(["table1", "table2"]));
    expect([...(tables("b.a.c") as Set<string>)]).toEqual(["b", "a", "c"]);
  });

  it("takes the separators of the other mini-languages as part of a name", () => {
    expect(tables("a:b.c@d.e$f.g h.i=j")).toEqual(new Set(["a:b", "c@d", "e$f", "g h", "i=j"]));
  });

  it("refuses empty names and duplicates", () => {
    expect([tables("a..b"), tables(".a"), tables("a."), tables("a.b.a")]).toMatchInlineSnapshot(`
      [
        [
          "tables: expected no empty table name (look for doubled or trailing separators), got "a..b"",
        ],
        [
          "tables: expected no empty table name (look for doubled or trailing separators), got ".a"",
        ],
        [
          "tables: expected no empty table name (look for doubled or trailing separators), got "a."",
        ],
        [
          "tables: table "a" is listed more than once",
        ],
      ]
    `);
  });
});

describe("excluded_fields", () => {
  it("reads <table>:<field>@<field>.<table>:<field>", () => {
    expect(excluded("t1:f1@f2.t2:f3")).toEqual(
      new Map([
        ["t1", new Set(["f1", "f2"])],
        ["t2", new Set(["f3"])],
      ]),
    );
  });

  it("takes $ and spaces as part of names", () => {
    expect(excluded("my table:a$b@c d")).toEqual(new Map([["my table", new Set(["a$b", "c d"])]]));
  });

  it("reads the older scheduled form f1.f2 as fields of source_measurement", () => {
    expect(excluded("field1.field2", "cpu")).toEqual(new Map([["cpu", new Set(["field1", "field2"])]]));
    expect(excluded("cpu:a", "cpu")).toEqual(new Map([["cpu", new Set(["a"])]]));
  });

  it("refuses malformed segments, empty names, duplicates and reserved names", () => {
    expect([
      excluded("t1"),
      excluded("t1:"),
      excluded(":f"),
      excluded("t1:f1@@f2"),
      excluded("t1:f1.t1:f2"),
      excluded("t1:f1@f1"),
      excluded("t1:f1:t2:f2"),
      excluded("t1:f1..t2:f2"),
      excluded("t1:time"),
      excluded("a..b", "cpu"),
    ]).toMatchInlineSnapshot(`
      [
        [
          "excluded_fields: expected <table>:<field>@<field>.<table>:<field> (a ":" after the table name in "t1"), got "t1"",
        ],
        [
          "excluded_fields: expected no empty field name (look for doubled or trailing separators), got "t1:"",
        ],
        [
          "excluded_fields: expected no empty table name (look for doubled or trailing separators), got ":f"",
        ],
        [
          "excluded_fields: expected no empty field name (look for doubled or trailing separators), got "t1:f1@@f2"",
        ],
        [
          "excluded_fields: table "t1" is listed more than once (join its fields with "@")",
        ],
        [
          "excluded_fields: field "f1" of table "t1" is listed more than once",
        ],
        [
          "excluded_fields: expected <table>:<field>@<field>.<table>:<field> (one ":" per table; a "." between tables), got "t1:f1:t2:f2"",
        ],
        [
          "excluded_fields: expected <table>:<field>@<field>.<table>:<field> (no empty part between "."), got "t1:f1..t2:f2"",
        ],
        [
          "excluded_fields: "time" in table "t1" is reserved by InfluxDB (it is the timestamp column or internal)",
        ],
        [
          "excluded_fields: expected no empty field name (look for doubled or trailing separators), got "a..b"",
        ],
      ]
    `);
  });
});

describe("tables_rename", () => {
  it("reads old:new.old2:new2", () => {
    expect(tablesRename("old:new.old2:new2")).toEqual(
      new Map([
        ["old", "new"],
        ["old2", "new2"],
      ]),
    );
  });

  it("takes @, $ and spaces as part of names, and lets two tables merge into one", () => {
    expect(tablesRename("cpu:cpu@edge.a b:c$d.x:m.y:m")).toEqual(
      new Map([
        ["cpu", "cpu@edge"],
        ["a b", "c$d"],
        ["x", "m"],
        ["y", "m"],
      ]),
    );
  });

  it("refuses malformed pairs, empty names and a table renamed twice", () => {
    expect([
      tablesRename("old"),
      tablesRename("old:"),
      tablesRename(":new"),
      tablesRename("a:b:c"),
      tablesRename("a:b..c:d"),
      tablesRename("a:b.a:c"),
    ]).toMatchInlineSnapshot(`
      [
        [
          "tables_rename: expected <old>:<new>.<old>:<new> (a ":" after the table name in "old"), got "old"",
        ],
        [
          "tables_rename: expected no empty table name (look for doubled or trailing separators), got "old:"",
        ],
        [
          "tables_rename: expected no empty table name (look for doubled or trailing separators), got ":new"",
        ],
        [
          "tables_rename: expected <old>:<new>.<old>:<new> (one ":" per rename; a "." between renames), got "a:b:c"",
        ],
        [
          "tables_rename: expected <old>:<new>.<old>:<new> (no empty part between "."), got "a:b..c:d"",
        ],
        [
          "tables_rename: table "a" is renamed more than once",
        ],
      ]
    `);
  });
});

describe("field_renames", () => {
  it("reads t1:a@b$c@d.t2:x@y", () => {
    expect(fieldRenames("t1:a@b$c@d.t2:x@y")).toEqual(
      new Map([
        [
          "t1",
          new Map([
            ["a", "b"],
            ["c", "d"],
          ]),
        ],
        ["t2", new Map([["x", "y"]])],
      ]),
    );
  });

  it("reads the older space-separated form t1:a@b c@d", () => {
    expect(fieldRenames("table1:hum@humidity temp@temperature.table2:oldX@newX")).toEqual(
      new Map([
        [
          "table1",
          new Map([
            ["hum", "humidity"],
            ["temp", "temperature"],
          ]),
        ],
        ["table2", new Map([["oldX", "newX"]])],
      ]),
    );
  });

  it("keeps spaces inside names when a table has one rename or uses $", () => {
    expect(fieldRenames("t1:a@b c")).toEqual(new Map([["t1", new Map([["a", "b c"]])]]));
    expect(fieldRenames("t:old name@new name")).toEqual(
      new Map([["t", new Map([["old name", "new name"]])]]),
    );
    expect(fieldRenames("t:a b@c$d@e f")).toEqual(
      new Map([
        [
          "t",
          new Map([
            ["a b", "c"],
            ["d", "e f"],
          ]),
        ],
      ]),
    );
  });

  it("reads the older scheduled form old:new.old2:new2 as renames in source_measurement", () => {
    expect(fieldRenames("hum:humidity.temp:temperature", "cpu")).toEqual(
      new Map([
        [
          "cpu",
          new Map([
            ["hum", "humidity"],
            ["temp", "temperature"],
          ]),
        ],
      ]),
    );
  });

  it("refuses malformed pairs, duplicates, collisions and reserved names", () => {
    expect([
      fieldRenames("t1"),
      fieldRenames("t1:a"),
      fieldRenames("t1:a@"),
      fieldRenames("t1:@b"),
      fieldRenames("t1:a@b$"),
      fieldRenames("t1:a@b c@d$e@f"),
      fieldRenames("t1:a@b.t1:c@d"),
      fieldRenames("t1:a@b$a@c"),
      fieldRenames("t1:a@x$b@x"),
      fieldRenames("t1:a@time"),
      fieldRenames("t1:a@b:c"),
      fieldRenames("a:b.:c", "cpu"),
    ]).toMatchInlineSnapshot(`
      [
        [
          "field_renames: expected <table>:<old>@<new>$<old>@<new>.<table>:<old>@<new> (a ":" after the table name in "t1"), got "t1"",
        ],
        [
          "field_renames: expected <table>:<old>@<new>$<old>@<new>.<table>:<old>@<new> ("a" is not <old>@<new>), got "t1:a"",
        ],
        [
          "field_renames: expected no empty field name (look for doubled or trailing separators), got "t1:a@"",
        ],
        [
          "field_renames: expected no empty field name (look for doubled or trailing separators), got "t1:@b"",
        ],
        [
          "field_renames: expected <table>:<old>@<new>$<old>@<new>.<table>:<old>@<new> ("" is not <old>@<new>), got "t1:a@b$"",
        ],
        [
          "field_renames: expected <table>:<old>@<new>$<old>@<new>.<table>:<old>@<new> ("a@b c@d" is not <old>@<new>), got "t1:a@b c@d$e@f"",
        ],
        [
          "field_renames: table "t1" is listed more than once (join its renames with "$")",
        ],
        [
          "field_renames: field "a" of table "t1" is renamed more than once",
        ],
        [
          "field_renames: fields "a" and "b" of table "t1" are both renamed to "x" (one would overwrite the other)",
        ],
        [
          "field_renames: "time" in table "t1" is reserved by InfluxDB (it is the timestamp column or internal)",
        ],
        [
          "field_renames: expected <table>:<old>@<new>$<old>@<new>.<table>:<old>@<new> ("a@b:c" is not <old>@<new>), got "t1:a@b:c"",
        ],
        [
          "field_renames: expected no empty field name (look for doubled or trailing separators), got "a:b.:c"",
        ],
      ]
    `);
  });
});

/** Names as line protocol can carry them: anything but line breaks, here also without the separators given. */
const legalName = (separators: string) =>
  fc
    .string({ minLength: 1, maxLength: 12, unit: "binary" })
    .filter((name) => !/[\r\n]/.test(name) && ![...separators].some((s) => name.includes(s)))
    .filter((name) => name !== "time" && name !== "__chunk_order");

describe("property: arbitrary legal names survive every mini-language", () => {
  it("tables", () => {
    fc.assert(
      fc.property(fc.uniqueArray(legalName("."), { minLength: 1, maxLength: 5 }), (names) => {
        expect(tables(names.join("."))).toEqual(new Set(names));
      }),
    );
  });

  it("tables_rename", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(legalName(".:"), legalName(".:")), {
          minLength: 1,
          maxLength: 5,
          selector: ([old]) => old,
        }),
        (pairs) => {
          expect(tablesRename(pairs.map(([a, b]) => `${a}:${b}`).join("."))).toEqual(new Map(pairs));
        },
      ),
    );
  });

  it("excluded_fields", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(legalName(".:"), fc.uniqueArray(legalName(".:@"), { minLength: 1, maxLength: 4 })),
          { minLength: 1, maxLength: 4, selector: ([table]) => table },
        ),
        (rules) => {
          const text = rules.map(([table, fields]) => `${table}:${fields.join("@")}`).join(".");
          expect(excluded(text)).toEqual(new Map(rules.map(([table, fields]) => [table, new Set(fields)])));
        },
      ),
    );
  });

  it("field_renames in the $ form", () => {
    const renames = fc
      .uniqueArray(fc.tuple(legalName(".:@$"), legalName(".:@$")), {
        minLength: 1,
        maxLength: 4,
        selector: ([a]) => a,
      })
      .filter((pairs) => new Set(pairs.map(([, to]) => to)).size === pairs.length);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(legalName(".:"), renames), {
          minLength: 1,
          maxLength: 4,
          selector: ([t]) => t,
        }),
        (rules) => {
          // A table with one rename is written without "$", which is also the older form's shape: both must agree.
          const text = rules
            .map(([table, pairs]) => `${table}:${pairs.map(([a, b]) => `${a}@${b}`).join("$")}`)
            .join(".");
          expect(fieldRenames(text)).toEqual(new Map(rules.map(([table, pairs]) => [table, new Map(pairs)])));
        },
      ),
    );
  });

  it("field_renames in the older space-separated form, for names without spaces", () => {
    const renames = fc
      .uniqueArray(fc.tuple(legalName(".:@$ \t\f\v"), legalName(".:@$ \t\f\v")), {
        minLength: 2,
        maxLength: 4,
        selector: ([a]) => a,
      })
      .filter((pairs) => pairs.every(([a, b]) => !/\s/.test(a) && !/\s/.test(b)))
      .filter((pairs) => new Set(pairs.map(([, to]) => to)).size === pairs.length);
    fc.assert(
      fc.property(legalName(".:"), renames, (table, pairs) => {
        const text = `${table}:${pairs.map(([a, b]) => `${a}@${b}`).join(" ")}`;
        expect(fieldRenames(text)).toEqual(new Map([[table, new Map(pairs)]]));
      }),
    );
  });
});
