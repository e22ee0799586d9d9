import { describe, expect, it } from "vitest";
import { ARGUMENTS, argumentNames, formatArgumentsHelp } from "./arguments.js";
import { SECRET_ARGUMENTS } from "./trigger-arguments.js";

describe("ARGUMENTS", () => {
  it("names each argument once, with a one-line description", () => {
    const names = ARGUMENTS.map((spec) => spec.name);
    expect(new Set(names).size).toBe(names.length);
    for (const spec of ARGUMENTS) expect(spec.description).toMatch(/^[^\n]{5,80}$/);
  });

  it("holds every argument of the seed's two tables", () => {
    const seedScheduled = [
      "host",
      "token",
      "database",
      "source_measurement",
      "max_size",
      "verify_ssl",
      "port_override",
    ];
    const seedBoth = ["max_retries", "excluded_fields", "tables_rename", "field_renames"];
    const seedWrites = [
      "host",
      "token",
      "database",
      "tables",
      "verify_ssl",
      "port_override",
      "max_retries",
      "max_size",
    ];
    expect(argumentNames("scheduled")).toEqual(
      expect.arrayContaining([...seedScheduled, ...seedBoth, "offset", "window"]),
    );
    expect(argumentNames("writes")).toEqual(expect.arrayContaining([...seedWrites, ...seedBoth]));
  });

  it("marks the tokens as secrets", () => {
    expect([...SECRET_ARGUMENTS]).toEqual(["token", "local_token"]);
  });
});

describe("formatArgumentsHelp", () => {
  it("prints one aligned line per argument of the mode", () => {
    expect(formatArgumentsHelp("writes")).toMatchInlineSnapshot(`
      "  host                Remote InfluxDB host URL. (required)
        token               Remote InfluxDB API token, or set EDR_REMOTE_TOKEN. (required)
        database            Remote database name. (required)
        port_override       Port to write to when host names none. (default: 443 for https, 8181 for http)
        verify_ssl          Whether to verify the remote's TLS certificate. (default: true)
        ca_file             PEM file of CA certificates to trust for the remote.
        write_api           Which write endpoint of the remote to use. (default: v3)
        max_retries         Retries of each write request after its first attempt; what fails stays queued. (default: 3)
        batch_lines         At most this many lines per write request. (default: 100000)
        batch_bytes         At most this many bytes of line protocol per write request. (default: 6MiB)
        max_in_flight       Write requests in flight at once (series never reordered). (default: 4)
        timeout             Time allowed for one write request. (default: 30s)
        tables              Dot-separated list of tables to replicate.
        excluded_fields     Fields (or tags) to leave out, per table.
        tables_rename       Table renames.
        target_table        New name of the one replicated table (older form of tables_rename).
        field_renames       Field (or tag) renames, per table.
        aggregate_interval  Downsample into buckets of this width.
        aggregate_grace     How long a downsampling bucket waits for late points after its end. (default: 30s)
        aggregations        Aggregate function per field when downsampling. (default: avg for numbers, last for strings and booleans)
        max_size            Maximum size of the queue in MB. (default: 1024)
        queue_dir           Directory of the queue file. (default: PLUGIN_DIR environment variable, else ~/.plugins)
        unique_file_suffix  Suffix of the queue file name (older plugins' argument).
        local_host          The local (source) InfluxDB, when edr runs outside the processing engine. (default: http://127.0.0.1:8181)
        local_database      The local database to read from, outside the processing engine.
        local_token         Token for the local instance, or set EDR_LOCAL_TOKEN."
    `);
  });

  it("includes the scheduled-only arguments in scheduled mode only", () => {
    expect(formatArgumentsHelp("scheduled")).toMatch(
      /^ {2}window +Time window copied by each scheduled run\. \(required\)$/m,
    );
    expect(formatArgumentsHelp("writes")).not.toMatch(/window|source_measurement|offset/);
  });
});
