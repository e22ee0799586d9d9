import { describe, expect, it } from "vitest";
import { problems } from "../test/helpers.js";
import type { ParseConfigOptions } from "./parse-config.js";
import { parseScheduledConfig, parseWritesConfig } from "./parse-config.js";

const options: ParseConfigOptions = { env: {}, homeDir: "/home/edr", cwd: "/srv/edr" };
const base = { host: "https://remote.example", token: "apiv3_remote-token-xyz", database: "replica" };
const scheduled = (args: Record<string, unknown>) =>
  parseScheduledConfig({ ...base, window: "1h", ...args }, options);
const writes = (args: Record<string, unknown>) => parseWritesConfig({ ...base, ...args }, options);

describe("tables and their older aliases", () => {
  it("replicates every table when neither tables nor source_measurement is given", () => {
    expect(scheduled({}).transform.tables).toBeUndefined();
    expect(writes({}).transform.tables).toBeUndefined();
  });

  it("reads tables in both modes", () => {
    expect(scheduled({ tables: "a.b" }).transform.tables).toEqual(new Set(["a", "b"]));
    expect(writes({ tables: "a" }).transform.tables).toEqual(new Set(["a"]));
  });

  it("reads source_measurement as one table, dots included", () => {
    expect(scheduled({ source_measurement: "cpu.v2" }).transform.tables).toEqual(new Set(["cpu.v2"]));
  });

  it("reads target_table as a one-table tables_rename", () => {
    expect(scheduled({ source_measurement: "cpu", target_table: "edge_cpu" }).transform.tablesRename).toEqual(
      new Map([["cpu", "edge_cpu"]]),
    );
    expect(writes({ tables: "cpu", target_table: "edge_cpu" }).transform.tablesRename).toEqual(
      new Map([["cpu", "edge_cpu"]]),
    );
  });

  it("refuses conflicting aliases and a target_table without exactly one table", () => {
    expect([
      problems(() => scheduled({ tables: "a", source_measurement: "a" })),
      problems(() => scheduled({ source_measurement: "a", target_table: "b", tables_rename: "a:c" })),
      problems(() => writes({ target_table: "b" })),
      problems(() => writes({ tables: "a.b", target_table: "c" })),
      problems(() => writes({ tables: "a..b", target_table: "c" })),
      problems(() => writes({ source_measurement: "a" })),
    ]).toMatchInlineSnapshot(`
      [
        [
          "source_measurement: conflicts with tables: give one of them (source_measurement is the older name for one table)",
        ],
        [
          "target_table: conflicts with tables_rename: give one of them (target_table is the older form for one table)",
        ],
        [
          "target_table: needs the table it renames: give source_measurement or tables with one name (or use tables_rename=<old>:<new>)",
        ],
        [
          "target_table: needs exactly one table to rename, but tables lists 2 (use tables_rename=<old>:<new>.…)",
        ],
        [
          "tables: expected no empty table name (look for doubled or trailing separators), got "a..b"",
        ],
        [
          "source_measurement: is only used in scheduled mode, not in writes mode",
        ],
      ]
    `);
  });

  it("treats an empty value as not given", () => {
    expect(writes({ tables: "", excluded_fields: "", aggregate_interval: "" }).transform).toEqual({
      excludedFields: new Map(),
      tablesRename: new Map(),
      fieldRenames: new Map(),
    });
  });
});

describe("rules checked against each other", () => {
  it("refuses rules for tables that are not replicated, and renames or aggregates of excluded fields", () => {
    expect(
      problems(() =>
        writes({
          tables: "cpu.disk",
          excluded_fields: "cpu:a.mem:x",
          tables_rename: "mme:m",
          field_renames: "cpu:a@b.net:y@z",
          aggregate_interval: "1min",
          aggregations: "cpu:a@max.swap:s@min",
        }),
      ),
    ).toMatchInlineSnapshot(`
      [
        "excluded_fields: names table "mem", which is not replicated (tables: "cpu.disk"); the rule would never apply",
        "tables_rename: names table "mme", which is not replicated (tables: "cpu.disk"); the rule would never apply",
        "field_renames: names table "net", which is not replicated (tables: "cpu.disk"); the rule would never apply",
        "aggregations: names table "swap", which is not replicated (tables: "cpu.disk"); the rule would never apply",
        "field_renames: renames field "a" of table "cpu", which excluded_fields leaves out",
        "aggregations: aggregates field "a" of table "cpu", which excluded_fields leaves out",
      ]
    `);
  });

  it("accepts rules for any table when tables is not given", () => {
    const config = writes({ excluded_fields: "mem:x", tables_rename: "a:b", field_renames: "net:y@z" });
    expect(config.transform.excludedFields.get("mem")).toEqual(new Set(["x"]));
  });
});

describe("downsampling", () => {
  it("is off without aggregate_interval", () => {
    expect(writes({}).transform.downsampling).toBeUndefined();
  });

  it("reads aggregate_interval and aggregations in both modes", () => {
    expect(writes({ aggregate_interval: "5min", aggregations: "max" }).transform.downsampling).toEqual({
      intervalMs: 300_000,
      aggregations: { default: "max", fields: new Map() },
    });
    expect(
      scheduled({ tables: "cpu", aggregate_interval: "1min", aggregations: "cpu:usage@max" }).transform
        .downsampling,
    ).toEqual({
      intervalMs: 60_000,
      aggregations: { fields: new Map([["cpu", new Map([["usage", "max"]])]]) },
    });
  });

  it("refuses aggregations without aggregate_interval, and an invalid interval", () => {
    expect(problems(() => writes({ aggregations: "avg" }))).toMatchInlineSnapshot(`
      [
        "aggregations: is given without aggregate_interval, so nothing would be downsampled (add aggregate_interval=<duration>)",
      ]
    `);
    expect(problems(() => writes({ aggregate_interval: "1.5min" }))).toMatchInlineSnapshot(`
      [
        "aggregate_interval: expected <number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "1.5min"",
      ]
    `);
  });

  it("in scheduled mode, refuses a window or offset that would split a bucket between two runs", () => {
    expect(problems(() => scheduled({ window: "90s", offset: "30s", aggregate_interval: "1min" })))
      .toMatchInlineSnapshot(`
      [
        "window: (90s) must be a whole multiple of aggregate_interval (1min), or a bucket is split between two runs and its second half overwrites the first at the remote",
        "offset: (30s) must be a whole multiple of aggregate_interval (1min), or a bucket is split between two runs and its second half overwrites the first at the remote",
      ]
    `);
    expect(scheduled({ window: "2h", offset: "10min", aggregate_interval: "5min" }).windowMs).toBe(7_200_000);
  });
});

describe("scheduled-only arguments", () => {
  it("reads window and offset (a bare 0 too)", () => {
    expect(scheduled({ window: "10s", offset: "0" })).toMatchObject({ windowMs: 10_000, offsetMs: 0 });
    expect(scheduled({ window: "2w", offset: "1d" })).toMatchObject({
      windowMs: 1_209_600_000,
      offsetMs: 86_400_000,
    });
  });

  it("requires window and refuses bad durations", () => {
    expect(problems(() => parseScheduledConfig(base, options))).toMatchInlineSnapshot(`
      [
        "window: is required in scheduled mode (e.g. window=1h)",
      ]
    `);
    expect(problems(() => scheduled({ window: "0s", offset: "-1h" }))).toMatchInlineSnapshot(`
      [
        "window: expected <number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "0s"",
        "offset: expected <number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), or 0, got "-1h"",
      ]
    `);
  });

  it("are refused in on-write mode with a reason, not as unknown", () => {
    expect(problems(() => writes({ window: "1h", offset: "0", source_measurement: "cpu" })))
      .toMatchInlineSnapshot(`
      [
        "window: is only used in scheduled mode, not in writes mode",
        "offset: is only used in scheduled mode, not in writes mode",
        "source_measurement: is only used in scheduled mode, not in writes mode",
      ]
    `);
  });
});
