import { describe, expect, it } from "vitest";
import { argsError, problems } from "../test/helpers.js";
import type { ParseConfigOptions } from "./parse-config.js";
import { parseScheduledConfig, parseWritesConfig } from "./parse-config.js";

const options: ParseConfigOptions = { env: {}, homeDir: "/home/edr", cwd: "/srv/edr" };
const text = "host=https://remote.example,token=apiv3_remote-token-xyz,database=replica";

describe("input forms", () => {
  it("gives the same config from the string and from the object of its values", () => {
    const fromText = parseWritesConfig(`${text},tables=a.b,max_retries=5,verify_ssl=false`, options);
    const fromObject = parseWritesConfig(
      {
        host: "https://remote.example",
        token: "apiv3_remote-token-xyz",
        database: "replica",
        tables: "a.b",
        max_retries: 5,
        verify_ssl: false,
        ignored: undefined,
      },
      options,
    );
    expect(fromObject).toEqual(fromText);
  });

  it("trims and unquotes object values like text values", () => {
    const config = parseWritesConfig(
      { host: ' "12.4.0.1" ', token: "'t0k3n-value'", database: " db ", tables: '" spaced name "' },
      options,
    );
    expect(config.remote).toMatchObject({
      url: "http://12.4.0.1:8181",
      token: "t0k3n-value",
      database: "db",
    });
    expect(config.transform.tables).toEqual(new Set([" spaced name "]));
  });

  it("refuses values of other types", () => {
    expect(problems(() => parseWritesConfig({ host: ["a"], token: { t: 1 }, database: "d" }, options)))
      .toMatchInlineSnapshot(`
        [
          "host: expected a string, number or boolean, got "[\\"a\\"]"",
          "token: must be a string, not object",
        ]
      `);
  });

  it("reports the string's syntax problems together with every other problem", () => {
    expect(problems(() => parseScheduledConfig(`${text},window=1x,,window=2h,tables=a..b`, options)))
      .toMatchInlineSnapshot(`
      [
        "#5: empty pair (a stray comma?)",
        "window: given more than once",
        "tables: expected no empty table name (look for doubled or trailing separators), got "a..b"",
        "window: expected <number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "1x"",
      ]
    `);
  });
});

describe("unknown arguments", () => {
  it("are refused, with the nearest known name of the mode when there is one", () => {
    expect(
      problems(() =>
        parseScheduledConfig(
          `${text},window=1h,tabels=a,exclude_fields=t:f,Max-Retries=3,colour=blue,weird key=1,${"x".repeat(50)}=1`,
          options,
        ),
      ),
    ).toMatchInlineSnapshot(`
      [
        "tabels: unknown argument; did you mean tables?",
        "exclude_fields: unknown argument; did you mean excluded_fields?",
        "Max-Retries: unknown argument; did you mean max_retries?",
        "colour: unknown argument",
        ""weird key": unknown argument",
        ""xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": unknown argument",
      ]
    `);
  });

  it("prints a message that reads well in a terminal", () => {
    const error = argsError(() =>
      parseWritesConfig("hots=12.4.0.1,tken=x,database=,verify_ssl=maybe", options),
    );
    expect(error.message).toMatchInlineSnapshot(`
      "[edr-args] 6 problems in the arguments:
        - hots: unknown argument; did you mean host?
        - tken: unknown argument; did you mean token?
        - host: is required (e.g. host=https://12.4.0.1:8181)
        - token: is required (or set the environment variable EDR_REMOTE_TOKEN)
        - database: is required (the remote database name)
        - verify_ssl: expected true or false, got "maybe""
    `);
  });
});
