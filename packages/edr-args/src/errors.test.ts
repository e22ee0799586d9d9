import { describe, expect, it } from "vitest";
import { ArgsError, IssueList, showValue } from "./errors.js";

describe("ArgsError", () => {
  it("prints one problem per line under a count", () => {
    const issues = new IssueList();
    issues.add("window", "<number><unit>", "10x");
    issues.addNote("tabels", "unknown argument; did you mean tables?", "a known argument");
    const error = new ArgsError(issues.list());
    expect(error.message).toMatchInlineSnapshot(`
      "[edr-args] 2 problems in the arguments:
        - window: expected <number><unit>, got "10x"
        - tabels: unknown argument; did you mean tables?"
    `);
    expect(error.issues).toMatchInlineSnapshot(`
      [
        {
          "argument": "window",
          "expected": "<number><unit>",
          "message": "window: expected <number><unit>, got "10x"",
          "received": "10x",
        },
        {
          "argument": "tabels",
          "expected": "a known argument",
          "message": "tabels: unknown argument; did you mean tables?",
        },
      ]
    `);
  });

  it("keeps a cause", () => {
    const cause = new Error("root");
    expect(new ArgsError([], { cause }).cause).toBe(cause);
  });
});

describe("showValue", () => {
  it("quotes values so spaces and empties are visible, and shortens long ones to one line", () => {
    expect(showValue("")).toBe('""');
    expect(showValue(" a ")).toBe('" a "');
    expect(showValue("x".repeat(100))).toBe(`"${"x".repeat(59)}…"`);
  });
});

describe("IssueList secrets", () => {
  it("masks a secret wherever it would be echoed, also escaped and shortened", () => {
    const issues = new IssueList();
    const secret = 'apiv3_"quoted"\\secret-value-that-is-long-enough-to-be-shortened-in-messages';
    issues.addSecret(secret);
    issues.add("host", "a host", secret);
    issues.add("database", "a name", `prefix ${secret}`);
    issues.add("tables", "names", `${secret.slice(0, 20)} and more text that makes this value long enough`);
    const text = JSON.stringify(issues.list());
    expect(text).not.toContain("secret-value");
    expect(text).not.toContain(JSON.stringify(secret).slice(1, 30));
    expect(text).toContain("<secret>");
  });

  it("does not mask values too short to be tokens, which would garble ordinary words", () => {
    const issues = new IssueList();
    issues.addSecret("e");
    issues.add("window", "expected", "x");
    expect(issues.list()[0]?.message).toBe('window: expected expected, got "x"');
  });
});
