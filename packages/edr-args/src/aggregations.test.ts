import { describe, expect, it } from "vitest";
import { readAggregations } from "./aggregations.js";
import { AGGREGATE_FUNCTIONS } from "./config.js";
import { IssueList } from "./errors.js";

function aggregations(value: string) {
  const issues = new IssueList();
  const rules = readAggregations("aggregations", value, issues);
  return issues.size > 0 ? issues.list().map((issue) => issue.message) : rules;
}

describe("aggregations", () => {
  it("reads one name for every field", () => {
    for (const fn of AGGREGATE_FUNCTIONS)
      expect(aggregations(fn)).toEqual({ default: fn, fields: new Map() });
  });

  it("reads any case", () => {
    expect(aggregations("AVG")).toEqual({ default: "avg", fields: new Map() });
  });

  it("reads per table and field", () => {
    expect(aggregations("cpu:usage@max$temp@min.mem:used@avg")).toEqual({
      fields: new Map([
        [
          "cpu",
          new Map([
            ["usage", "max"],
            ["temp", "min"],
          ]),
        ],
        ["mem", new Map([["used", "avg"]])],
      ]),
    });
  });

  it("reads a lone name beside per-field rules as the function of every field not listed", () => {
    expect(aggregations("max.cpu:temp@min")).toEqual({
      default: "max",
      fields: new Map([["cpu", new Map([["temp", "min"]])]]),
    });
  });

  it("takes spaces and the other mini-languages' separators in names", () => {
    expect(aggregations("my table:a b@sum$x=y@count")).toEqual({
      fields: new Map([
        [
          "my table",
          new Map([
            ["a b", "sum"],
            ["x=y", "count"],
          ]),
        ],
      ]),
    });
  });

  it("refuses unknown functions (suggesting the nearest), malformed parts and duplicates", () => {
    expect([
      aggregations("mean"),
      aggregations("mx"),
      aggregations("stddev"),
      aggregations("cpu:usage@maxx"),
      aggregations("cpu:usage"),
      aggregations("cpu:usage@"),
      aggregations(":a@max"),
      aggregations("cpu:@max"),
      aggregations("cpu:a@max$"),
      aggregations("avg..cpu:a@max"),
      aggregations("avg.max"),
      aggregations("cpu:a@max.cpu:b@min"),
      aggregations("cpu:a@max$a@min"),
      aggregations("cpu:time@max"),
    ]).toMatchInlineSnapshot(`
      [
        [
          "aggregations: expected a function avg|sum|min|max|count|first|last|median (did you mean avg?), got "mean"",
        ],
        [
          "aggregations: expected a function avg|sum|min|max|count|first|last|median (did you mean max?), got "mx"",
        ],
        [
          "aggregations: expected a function avg|sum|min|max|count|first|last|median, got "stddev"",
        ],
        [
          "aggregations: expected a function avg|sum|min|max|count|first|last|median in place of "maxx" (did you mean max?), got "cpu:usage@maxx"",
        ],
        [
          "aggregations: expected <function> or <table>:<field>@<function>$<field>@<function>.<table>:… ("usage" is not <field>@<function>), got "cpu:usage"",
        ],
        [
          "aggregations: expected <function> or <table>:<field>@<function>$<field>@<function>.<table>:… ("usage@" is not <field>@<function>), got "cpu:usage@"",
        ],
        [
          "aggregations: expected <function> or <table>:<field>@<function>$<field>@<function>.<table>:… (a table name before ":"), got ":a@max"",
        ],
        [
          "aggregations: expected <function> or <table>:<field>@<function>$<field>@<function>.<table>:… ("@max" is not <field>@<function>), got "cpu:@max"",
        ],
        [
          "aggregations: expected <function> or <table>:<field>@<function>$<field>@<function>.<table>:… ("" is not <field>@<function>), got "cpu:a@max$"",
        ],
        [
          "aggregations: expected <function> or <table>:<field>@<function>$<field>@<function>.<table>:… (no empty part between "."), got "avg..cpu:a@max"",
        ],
        [
          "aggregations: has two functions for all fields (avg and max): keep one",
        ],
        [
          "aggregations: table "cpu" is listed more than once (join its fields with "$")",
        ],
        [
          "aggregations: field "a" of table "cpu" is listed more than once",
        ],
        [
          "aggregations: "time" is the timestamp column, not a field",
        ],
      ]
    `);
  });
});
