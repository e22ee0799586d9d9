import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { argumentNames } from "./arguments.js";
import { editDistance, suggestName } from "./suggest.js";

describe("editDistance", () => {
  it("counts an adjacent transposition as one edit", () => {
    expect(editDistance("tabels", "tables")).toBe(1);
    expect(editDistance("ab", "ba")).toBe(1);
  });

  it("counts insertions, deletions and substitutions", () => {
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("window", "window")).toBe(0);
  });

  it("is symmetric and zero only for equal strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});

describe("suggestName", () => {
  const names = argumentNames("scheduled");

  it.each([
    ["tabels", "tables"],
    ["table", "tables"],
    ["exclude_fields", "excluded_fields"],
    ["excluded_field", "excluded_fields"],
    ["field_rename", "field_renames"],
    ["table_rename", "tables_rename"],
    ["tables_renames", "tables_rename"],
    ["verifyssl", "verify_ssl"],
    ["Verify-SSL", "verify_ssl"],
    ["max_retry", "max_retries"],
    ["retries", "max_retries"],
    ["hots", "host"],
    ["hostname", "host"],
    ["windwo", "window"],
    ["ofset", "offset"],
    ["aggregation", "aggregations"],
    ["aggregate_intervall", "aggregate_interval"],
    ["port", "port_override"],
    ["write_ap", "write_api"],
  ])("suggests %s -> %s", (typo, name) => {
    expect(suggestName(typo, names)).toBe(name);
  });

  it.each(["x", "colour", "compression", "username"])("suggests nothing for %s", (name) => {
    expect(suggestName(name, names)).toBeUndefined();
  });
});
