import { describe, expect, it } from "vitest";
import { parseLines } from "./parse.js";
import type { Point } from "./point.js";
import {
  composeTransforms,
  createTransform,
  excludeFields,
  filterTables,
  renameFields,
  renameTables,
} from "./transform.js";

const lines = [
  "cpu,host=a,region=eu usage=1.5,idle=98.5,temp=40i 1",
  "mem,host=a used=10i,free=20i 2",
  "disk,host=a,path=/ used=5i 3",
];

describe("filterTables", () => {
  it("keeps the listed tables, unchanged, and drops the others", () => {
    const result = filterTables({ tables: ["cpu", "disk"] }).lines(lines);
    expect(result.items).toEqual([lines[0], lines[2]]);
    expect(result.dropped).toBe(1);
  });

  it("keeps everything when no table is listed", () => {
    expect(filterTables({}).lines(lines).items).toEqual(lines);
    expect(filterTables({ tables: new Set() }).lines(lines).items).toEqual(lines);
  });
});

describe("excludeFields", () => {
  it("removes fields in every position, and tags of that name", () => {
    const t = excludeFields({ excludedFields: new Map([["cpu", new Set(["usage", "temp", "region"])]]) });
    expect(t.lines(lines).items).toEqual(["cpu,host=a idle=98.5 1", lines[1], lines[2]]);
    const middle = excludeFields({ excludedFields: new Map([["cpu", ["idle"]]]) });
    expect(middle.lines(lines).items[0]).toBe("cpu,host=a,region=eu usage=1.5,temp=40i 1");
    const first = excludeFields({ excludedFields: new Map([["cpu", ["usage", "idle"]]]) });
    expect(first.lines(lines).items[0]).toBe("cpu,host=a,region=eu temp=40i 1");
  });

  it("drops and counts a line left with no field", () => {
    const t = excludeFields({ excludedFields: new Map([["mem", ["used", "free"]]]) });
    const result = t.lines(lines);
    expect(result.items).toEqual([lines[0], lines[2]]);
    expect(result.emptied).toBe(1);
  });
});

describe("renameTables and renameFields", () => {
  it("renames a table, escaping the new name", () => {
    const t = renameTables({ tablesRename: new Map([["cpu", "cpu stats,v2"]]) });
    expect(t.lines(lines).items[0]).toBe("cpu\\ stats\\,v2,host=a,region=eu usage=1.5,idle=98.5,temp=40i 1");
  });

  it("renames fields and tags of the table", () => {
    const t = renameFields({
      fieldRenames: new Map([
        [
          "cpu",
          new Map([
            ["usage", "use=%"],
            ["host", "server"],
          ]),
        ],
      ]),
    });
    expect(t.lines(lines).items[0]).toBe("cpu,server=a,region=eu use\\=%=1.5,idle=98.5,temp=40i 1");
  });

  it("reports two names renamed onto one when the transform is built", () => {
    expect(() =>
      renameFields({
        fieldRenames: new Map([
          [
            "cpu",
            new Map([
              ["a", "x"],
              ["b", "x"],
            ]),
          ],
        ]),
      }),
    ).toThrow('[edr-transform] table "cpu": "a" and "b" are both renamed to "x"');
  });

  it("reports a rename onto a column that stays, when told the columns", () => {
    const t = renameFields({ fieldRenames: new Map([["cpu", new Map([["usage", "idle"]])]]) });
    expect(() => t.checkColumns("cpu", ["host", "usage", "idle"])).toThrow(
      'table "cpu": renaming "usage" to "idle" collides with the existing column "idle"',
    );
    expect(() => t.checkColumns("cpu", ["host", "usage"])).not.toThrow();
  });

  it("rejects, as data, a line where a rename would repeat a name", () => {
    const t = renameFields({ fieldRenames: new Map([["cpu", new Map([["usage", "idle"]])]]) });
    const result = t.lines(lines);
    expect(result.items).toEqual([lines[1], lines[2]]);
    expect(result.rejected).toEqual([
      {
        index: 0,
        item: lines[0],
        reason: 'table "cpu": renaming "usage" to "idle" repeats a tag or field of that name',
      },
    ]);
  });

  it("rejects a line whose tag and field of one name are both renamed, as the points path does", () => {
    const t = renameFields({ fieldRenames: new Map([["cpu", new Map([["host", "server"]])]]) });
    const line = "cpu,host=a host=1i 1";
    expect(t.lines([line]).rejected.map((r) => r.reason)).toEqual([
      'table "cpu": renaming "host" to "server" repeats a tag or field of that name',
    ]);
    expect(t.points(parseLines(line)).rejected).toHaveLength(1);
  });
});

describe("composeTransforms and createTransform", () => {
  const rules = {
    tables: ["cpu", "mem"],
    excludedFields: new Map([["cpu", new Set(["idle"])]]),
    fieldRenames: new Map([["cpu", new Map([["usage", "use"]])]]),
    tablesRename: new Map([["cpu", "processor"]]),
  };

  it("applies the seed's rules, each naming tables by their local name", () => {
    const result = createTransform(rules).lines(lines);
    expect(result.items).toEqual(["processor,host=a,region=eu use=1.5,temp=40i 1", lines[1]]);
    expect(result.dropped).toBe(1);
  });

  it("gives the same result chained by hand, and later transforms see earlier renames", () => {
    const chained = composeTransforms(
      filterTables(rules),
      excludeFields(rules),
      renameFields(rules),
      renameTables(rules),
    );
    expect(chained.lines(lines)).toEqual(createTransform(rules).lines(lines));
    const renameThenExclude = composeTransforms(
      renameTables(rules),
      excludeFields({ excludedFields: new Map([["processor", ["temp"]]]) }),
    );
    expect(renameThenExclude.lines(lines).items[0]).toBe("processor,host=a,region=eu usage=1.5,idle=98.5 1");
  });

  it("detects collisions that only appear once chained", () => {
    expect(() =>
      composeTransforms(
        renameFields({ fieldRenames: new Map([["cpu", new Map([["a", "b"]])]]) }),
        renameFields({ fieldRenames: new Map([["cpu", new Map([["c", "b"]])]]) }),
      ),
    ).toThrow(/both renamed to "b"/);
  });

  it("passes untouched lines through as the same text without parsing them", () => {
    const t = createTransform({ excludedFields: new Map([["other", new Set(["x"])]]) });
    // Not valid line protocol, yet untouched: returned as is (no parse, no format).
    const weird = ["cpu,host=a f=not-a-value", "cpu  odd   spacing=1.50 5"];
    expect(t.lines(weird).items).toEqual(weird);
  });

  it("keeps value spellings of touched lines and rejects invalid ones as data", () => {
    const t = renameTables({ tablesRename: new Map([["cpu", "c"]]) });
    const result = t.lines(['cpu f=1.50,b=T,s="a\\\\b" 5', "cpu f=", "cpu\\ x f=1"]);
    expect(result.items).toEqual(['c f=1.50,b=T,s="a\\\\b" 5', "cpu\\ x f=1"]);
    expect(result.rejected).toEqual([
      { index: 1, item: "cpu f=", reason: "column 7: expected a field value" },
    ]);
  });

  it("finds the table of lines with escapes, leading whitespace and comments", () => {
    const t = createTransform({ tables: ["a b", "c,d"] });
    const result = t.lines(["a\\ b f=1", "  c\\,d f=2", "# comment", "", "a f=3"]);
    expect(result.items).toEqual(["a\\ b f=1", "c\\,d f=2"]);
    expect(result.dropped).toBe(3);
  });

  it("finds the table of a line that starts with a newline, first in its batch or not", () => {
    // Leading whitespace, newlines included, is skipped as the server skips it: these are cpu lines.
    const filter = createTransform({ tables: ["cpu"] });
    for (const line of ["\n cpu f=1 1", "\n\tcpu,t=a f=1 1", "\n  cpu f=1 1  "]) {
      expect(filter.lines([line]).items).toEqual([line.replace(/^\s+/, "")]);
      expect(filter.lines(["cpu f=0 0", line]).items).toEqual(["cpu f=0 0", line.replace(/^\s+/, "")]);
    }
    const rename = createTransform({ tablesRename: new Map([["cpu", "c"]]) });
    expect(rename.lines(["\n cpu f=1 1", "mem f=2 2", "\n cpu f=3 3"]).items).toEqual([
      "c f=1 1",
      "mem f=2 2",
      "c f=3 3",
    ]);
    // Nor does a measurement cut short by the end of its line stand for the lines that start with it.
    const spaced = createTransform({ tablesRename: new Map([["cpu x", "c"]]) });
    expect(spaced.lines(["cpu\\", "cpu\\ x,t=a f=1 1"]).items).toEqual(["cpu\\", "c,t=a f=1 1"]);
  });

  it("does the same to points as to lines", () => {
    const t = createTransform(rules);
    const points = parseLines(lines.join("\n"));
    const result = t.points(points);
    expect(result.items).toEqual(parseLines(t.lines(lines).items.join("\n")));
    expect(result.items[1]).toBe(points[1]);
    expect(result.dropped).toBe(1);
    const clash: Point = {
      measurement: "cpu",
      tags: {},
      fields: { usage: { type: "float", value: 1 }, use: { type: "float", value: 2 } },
    };
    expect(t.points([clash]).rejected[0]!.reason).toMatch(/repeats a tag or field/);
  });

  it("refuses rule names no line can carry", () => {
    expect(() => renameTables({ tablesRename: new Map([["cpu", "bad\tname"]]) })).toThrow(/holds a tab/);
    expect(() => filterTables({ tables: [""] })).toThrow(/expected a non-empty name/);
  });
});
