import { describe, expect, it } from "vitest";
import { quoteInfluxQLIdentifier, quoteSqlIdentifier } from "./quoting.js";

describe("quoteSqlIdentifier", () => {
  it.each([
    ["cpu", '"cpu"'],
    ['a"b', '"a""b"'],
    ["x'; DROP TABLE y; --", `"x'; DROP TABLE y; --"`],
    ["Mixed Case", '"Mixed Case"'],
    ["dots.in.name", '"dots.in.name"'],
    ["back\\slash", '"back\\slash"'],
  ])("quotes %j as %s", (name, quoted) => {
    expect(quoteSqlIdentifier(name)).toBe(quoted);
  });
});

describe("quoteInfluxQLIdentifier", () => {
  it.each([
    ["cpu", '"cpu"'],
    ['a"b', '"a\\"b"'],
    ["back\\slash", '"back\\\\slash"'],
    ["x'; DROP MEASUREMENT y; --", `"x'; DROP MEASUREMENT y; --"`],
    ["new\nline", '"new\\nline"'],
  ])("quotes %j as %s", (name, quoted) => {
    expect(quoteInfluxQLIdentifier(name)).toBe(quoted);
  });
});
