import { describe, expect, it } from "vitest";
import { argsError, problems } from "../test/helpers.js";
import { parseTriggerArguments } from "./trigger-arguments.js";

describe("parseTriggerArguments", () => {
  it("splits on commas, then on the first =", () => {
    expect(parseTriggerArguments("host=http://127.0.0.1,token=a=b=c,tables=t1.t2")).toEqual({
      host: "http://127.0.0.1",
      token: "a=b=c",
      tables: "t1.t2",
    });
  });

  it("reads the seed's scheduled example verbatim", () => {
    expect(
      parseTriggerArguments(
        "host=<remote_host>,token=<remote_token>,database=<remote_db>,tables=table1.table2",
      ),
    ).toEqual({
      host: "<remote_host>",
      token: "<remote_token>",
      database: "<remote_db>",
      tables: "table1.table2",
    });
  });

  it("removes one pair of matching quotes around a value, and keeps what is inside as is", () => {
    expect(parseTriggerArguments(`host="https://12.4.0.1:8181",a='x',b=" spaced ",c="",d='"q"'`)).toEqual({
      host: "https://12.4.0.1:8181",
      a: "x",
      b: " spaced ",
      c: "",
      d: '"q"',
    });
  });

  it("keeps unbalanced or mismatched quotes", () => {
    expect(parseTriggerArguments(`a="x,b='y",c="`)).toEqual({ a: '"x', b: "'y\"", c: '"' });
  });

  it("drops whitespace around keys and values", () => {
    expect(parseTriggerArguments(" host = 12.4.0.1 , database = db ")).toEqual({
      host: "12.4.0.1",
      database: "db",
    });
  });

  it("gives no pairs for empty or blank text", () => {
    expect(parseTriggerArguments("")).toEqual({});
    expect(parseTriggerArguments("   ")).toEqual({});
  });

  it("keeps an empty value (the config parsers treat it as not given)", () => {
    expect(parseTriggerArguments("tables=")).toEqual({ tables: "" });
  });

  it("takes __proto__ as an ordinary key", () => {
    const args = parseTriggerArguments("__proto__=x");
    expect(Object.keys(args)).toEqual(["__proto__"]);
    expect(args["__proto__"]).toBe("x");
  });

  it("reports every pair without =, empty key and duplicate at once", () => {
    expect(problems(() => parseTriggerArguments("host=a,verify_ssl,=x,host=b,,tables=t,")))
      .toMatchInlineSnapshot(`
        [
          "verify_ssl: has no "=" and no value (write verify_ssl=<value>)",
          "#3: has no name before its "="",
          "host: given more than once",
          "#5: empty pair (a stray comma?)",
          "#7: empty pair (a stray comma?)",
        ]
      `);
  });

  it("never echoes what follows a token when a comma seems to have split it", () => {
    const error = argsError(() => parseTriggerArguments("token=apiv3_first,second-half-of-it,database=db"));
    expect(error.message).not.toContain("second-half-of-it");
    expect(error.message).toMatchInlineSnapshot(`
      "[edr-args] 1 problem in the arguments:
        - #2: no "=" after token (does its value contain a comma?)"
    `);
  });

  it("never echoes a duplicated token's values", () => {
    const error = argsError(() => parseTriggerArguments("token=one-secret,token=two-secret"));
    expect(JSON.stringify(error.issues) + error.message).not.toMatch(/one-secret|two-secret/);
  });

  it("throws an ArgsError with a code and a message that starts with the package name", () => {
    const error = argsError(() => parseTriggerArguments("nonsense"));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.name).toBe("ArgsError");
    expect(error.message.startsWith("[edr-args] 1 problem in the arguments:")).toBe(true);
  });
});
