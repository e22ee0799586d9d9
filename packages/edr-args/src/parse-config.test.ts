import { describe, expect, it } from "vitest";
import { problems } from "../test/helpers.js";
import { DEFAULT_BATCH_BYTES, DEFAULT_BATCH_LINES } from "./config.js";
import type { ParseConfigOptions } from "./parse-config.js";
import { parseScheduledConfig, parseWritesConfig } from "./parse-config.js";

const options: ParseConfigOptions = { env: {}, homeDir: "/home/edr", cwd: "/srv/edr" };
const remote = { host: "https://remote.example", token: "apiv3_remote-token-xyz", database: "replica" };
const scheduled = (args: Record<string, unknown>, opts: ParseConfigOptions = options) =>
  parseScheduledConfig({ ...remote, window: "1h", ...args }, opts);
const writes = (args: Record<string, unknown>, opts: ParseConfigOptions = options) =>
  parseWritesConfig({ ...remote, ...args }, opts);

describe("the seed's examples", () => {
  const scheduledExample =
    "host=<remote_host>,token=<remote_token>,database=<remote_db>,tables=table1.table2";
  const writesExample =
    "host=<remote_host>,token=<remote_token>,database=<remote_db>,tables=table1.table2,aggregate_interval=1m";

  it("verbatim, say which placeholders are still to be filled in (and that window is required)", () => {
    expect(problems(() => parseScheduledConfig(scheduledExample, options))).toMatchInlineSnapshot(`
      [
        "host: is still the placeholder <remote_host> from an example: put the real value there",
        "token: is still a placeholder from an example: put the real value there",
        "database: is still the placeholder <remote_db> from an example: put the real value there",
        "window: is required in scheduled mode (e.g. window=1h)",
      ]
    `);
    expect(problems(() => parseWritesConfig(writesExample, options))).toMatchInlineSnapshot(`
      [
        "host: is still the placeholder <remote_host> from an example: put the real value there",
        "token: is still a placeholder from an example: put the real value there",
        "database: is still the placeholder <remote_db> from an example: put the real value there",
      ]
    `);
  });

  const fill = (text: string) =>
    text
      .replace("<remote_host>", "12.4.0.1")
      .replace("<remote_token>", "t0ken")
      .replace("<remote_db>", "remote_db");

  it("with the placeholders filled in, configure the scheduled mode", () => {
    const config = parseScheduledConfig(`${fill(scheduledExample)},window=1h`, options);
    expect(config).toEqual({
      mode: "scheduled",
      remote: {
        url: "http://12.4.0.1:8181",
        protocol: "http",
        hostname: "12.4.0.1",
        port: 8181,
        token: "t0ken",
        database: "remote_db",
        writeApi: "v3",
        verifySsl: true,
        maxRetries: 3,
        batchLines: DEFAULT_BATCH_LINES,
        batchBytes: DEFAULT_BATCH_BYTES,
        maxInFlight: 4,
        timeoutMs: 30_000,
      },
      local: { url: "http://127.0.0.1:8181" },
      transform: {
        tables: new Set(["table1", "table2"]),
        excludedFields: new Map(),
        tablesRename: new Map(),
        fieldRenames: new Map(),
      },
      queue: {
        dir: "/home/edr/.plugins",
        name: "schedule",
        fileName: "edr_queue_schedule.jsonl.gz",
        maxBytes: 1024 * 1024 * 1024,
      },
      windowMs: 3_600_000,
      offsetMs: 0,
      catchUp: true,
    });
  });

  it("with the placeholders filled in, configure the on-write mode with downsampling by the minute", () => {
    const config = parseWritesConfig(fill(writesExample), options);
    expect(config.mode).toBe("writes");
    expect(config.transform.tables).toEqual(new Set(["table1", "table2"]));
    expect(config.transform.downsampling).toEqual({
      intervalMs: 60_000,
      aggregations: { fields: new Map() },
    });
    expect(config.queue.fileName).toBe("edr_queue_writes.jsonl.gz");
  });

  it("reads every value of the seed's argument tables", () => {
    const config = scheduled({
      host: "https://12.4.0.1",
      max_size: "1024",
      verify_ssl: "True",
      port_override: "8181",
      max_retries: "3",
      excluded_fields: "table1:field1@field2.table2:field3",
      tables_rename: "table1:new_table1.table2:new_table2",
      field_renames: "table1:oldA@newA$oldB@newB.table2:oldX@newX$oldY@newY",
      offset: "10min",
      window: "1d",
    });
    expect(config.remote.url).toBe("https://12.4.0.1:8181");
    expect(config.transform.excludedFields.get("table1")).toEqual(new Set(["field1", "field2"]));
    expect(config.transform.tablesRename.get("table2")).toBe("new_table2");
    expect(config.transform.fieldRenames.get("table2")).toEqual(
      new Map([
        ["oldX", "newX"],
        ["oldY", "newY"],
      ]),
    );
    expect([config.offsetMs, config.windowMs]).toEqual([600_000, 86_400_000]);
  });

  it("reads the older plugin's scheduled arguments (source_measurement, target_table, old forms)", () => {
    const config = parseScheduledConfig(
      "host=https://remote-influxdb.com:8181,token=remote_api_token,database=remote_db,source_measurement=table1," +
        "window=10s,unique_file_suffix=suffix123,max_size=1024,verify_ssl=true,max_retries=3," +
        "excluded_fields=field1.field2,target_table=new_table_name,field_renames=hum:humidity.temp:temperature,offset=10min",
      options,
    );
    expect(config.transform).toEqual({
      tables: new Set(["table1"]),
      excludedFields: new Map([["table1", new Set(["field1", "field2"])]]),
      tablesRename: new Map([["table1", "new_table_name"]]),
      fieldRenames: new Map([
        [
          "table1",
          new Map([
            ["hum", "humidity"],
            ["temp", "temperature"],
          ]),
        ],
      ]),
    });
    expect(config.queue.fileName).toBe("edr_queue_schedule_suffix123.jsonl.gz");
    expect(config.remote.url).toBe("https://remote-influxdb.com:8181");
  });

  it("reads the older plugin's on-write example with the space-separated field_renames", () => {
    const config = writes({
      excluded_fields: "table1:field1@field2.table2:field3",
      tables_rename: "table1:new_table1.table2:new_table2",
      field_renames: "table1:hum@humidity temp@temperature.table2:oldX@newX",
      port_override: "8181",
    });
    expect(config.transform.fieldRenames.get("table1")).toEqual(
      new Map([
        ["hum", "humidity"],
        ["temp", "temperature"],
      ]),
    );
    expect(config.remote.url).toBe("https://remote.example:8181");
  });
});

describe("catch_up", () => {
  it("defaults to true and reads true or false in any case", () => {
    expect(scheduled({}).catchUp).toBe(true);
    for (const [text, value] of [
      ["true", true],
      ["TRUE", true],
      ["True", true],
      ["false", false],
      ["FALSE", false],
      ["fAlSe", false],
    ] as const) {
      expect(scheduled({ catch_up: text }).catchUp).toBe(value);
    }
    expect(parseScheduledConfig(`host=h,token=t,database=d,window=1h,catch_up=false`, options).catchUp).toBe(
      false,
    );
  });

  it("refuses anything but true or false, naming the argument", () => {
    expect(problems(() => scheduled({ catch_up: "yes" }))).toMatchInlineSnapshot(`
      [
        "catch_up: expected true or false, got "yes"",
      ]
    `);
  });

  it("is refused in on-write mode", () => {
    expect(problems(() => writes({ catch_up: "false" }))).toMatchInlineSnapshot(`
      [
        "catch_up: is only used in scheduled mode, not in writes mode",
      ]
    `);
  });
});

describe("aggregate_grace", () => {
  it("defaults to 30 s and reads a duration or 0", () => {
    expect(writes({ aggregate_interval: "1min" }).aggregateGraceMs).toBe(30_000);
    expect(writes({ aggregate_interval: "1min", aggregate_grace: "2min" }).aggregateGraceMs).toBe(120_000);
    expect(writes({ aggregate_interval: "1min", aggregate_grace: "0" }).aggregateGraceMs).toBe(0);
  });

  it("needs aggregate_interval and a duration, and is an on-write argument only", () => {
    expect(problems(() => writes({ aggregate_grace: "10s" }))).toMatchInlineSnapshot(`
      [
        "aggregate_grace: needs aggregate_interval (it says how long a downsampling bucket waits for late points)",
      ]
    `);
    expect(problems(() => writes({ aggregate_interval: "1min", aggregate_grace: "soon" }))).toHaveLength(1);
    expect(problems(() => scheduled({ aggregate_grace: "10s" }))[0]).toMatch(
      /^aggregate_grace: is only used in writes mode/,
    );
  });
});
