import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { argsError, problems } from "../test/helpers.js";
import type { ArgsError } from "./errors.js";
import type { ParseConfigOptions } from "./parse-config.js";
import { parseScheduledConfig, parseWritesConfig } from "./parse-config.js";

const options: ParseConfigOptions = { env: {}, homeDir: "/home/edr", cwd: "/srv/edr" };
const base = { host: "https://remote.example", token: "apiv3_remote-token-xyz", database: "replica" };
const writes = (args: Record<string, unknown>, opts: ParseConfigOptions = options) =>
  parseWritesConfig({ ...base, ...args }, opts);

describe("remote arguments", () => {
  it.each([
    [{ port_override: "9000" }, { url: "https://remote.example:9000", port: 9000, portOverride: 9000 }],
    [
      { host: "https://remote.example:8181", port_override: "9000" },
      { url: "https://remote.example:8181", port: 8181 },
    ],
    [{ verify_ssl: "FALSE" }, { verifySsl: false }],
    [{ verify_ssl: "true" }, { verifySsl: true }],
    [{ ca_file: "~/ca.pem" }, { caFile: "/home/edr/ca.pem" }],
    [{ ca_file: "certs/ca.pem" }, { caFile: "/srv/edr/certs/ca.pem" }],
    [{ write_api: "v2" }, { writeApi: "v2" }],
    [{ write_api: "V1" }, { writeApi: "v1" }],
    [{ max_retries: "0" }, { maxRetries: 0 }],
    [{ max_retries: 10 }, { maxRetries: 10 }],
    [{ batch_lines: "1" }, { batchLines: 1 }],
    [{ batch_bytes: "1000" }, { batchBytes: 1000 }],
    [{ batch_bytes: "512KiB" }, { batchBytes: 524_288 }],
    [{ batch_bytes: "10MiB" }, { batchBytes: 10_485_760 }],
    [{ max_in_flight: "1" }, { maxInFlight: 1 }],
    [{ timeout: "30s" }, { timeoutMs: 30_000 }],
    [
      { host: "[::1]:8086", database: "db/rp" },
      { url: "http://[::1]:8086", database: "db/rp" },
    ],
  ])("reads %j", (args, expected) => {
    expect(writes(args).remote).toMatchObject(expected);
  });

  it("reports every invalid remote value at once", () => {
    expect(
      problems(() =>
        writes({
          host: "ftp://x",
          database: "",
          port_override: "0",
          verify_ssl: "yes",
          write_api: "v4",
          max_retries: "-1",
          batch_lines: "0",
          batch_bytes: "11MiB",
          max_in_flight: "65",
          timeout: "10",
        }),
      ),
    ).toMatchInlineSnapshot(`
      [
        "host: expected the scheme http:// or https:// (or none, for http), got "ftp://x"",
        "database: is required (the remote database name)",
        "port_override: expected an integer from 1 to 65535, got "0"",
        "verify_ssl: expected true or false, got "yes"",
        "write_api: expected one of v3, v2, v1, got "v4"",
        "max_retries: expected an integer ≥ 0, got "-1"",
        "batch_lines: expected an integer ≥ 1, got "0"",
        "batch_bytes: expected bytes as an integer or with KiB or MiB (4MiB), from 1 to 10485760 (10MiB), got "11MiB"",
        "max_in_flight: expected an integer from 1 to 64, got "65"",
        "timeout: expected <number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "10"",
      ]
    `);
  });

  it("refuses non-integers and values beyond their range", () => {
    expect(
      problems(() =>
        writes({
          port_override: "65536",
          max_retries: "1.5",
          batch_lines: "1e3",
          batch_bytes: "4 GB",
          max_in_flight: "0",
        }),
      ),
    ).toMatchInlineSnapshot(`
      [
        "port_override: expected an integer from 1 to 65535, got "65536"",
        "max_retries: expected an integer ≥ 0, got "1.5"",
        "batch_lines: expected an integer ≥ 1, got "1e3"",
        "batch_bytes: expected bytes as an integer or with KiB or MiB (4MiB), from 1 to 10485760 (10MiB), got "4 GB"",
        "max_in_flight: expected an integer from 1 to 64, got "0"",
      ]
    `);
  });

  it("refuses a ca_file for an http host, where no certificate would be checked", () => {
    expect(problems(() => writes({ host: "http://remote.example", ca_file: "/ca.pem" })))
      .toMatchInlineSnapshot(`
      [
        "ca_file: is given but host uses http, so no certificate is ever checked (write https:// in host)",
      ]
    `);
  });

  it("requires host, token and database", () => {
    expect(problems(() => parseWritesConfig({}, options))).toMatchInlineSnapshot(`
      [
        "host: is required (e.g. host=https://12.4.0.1:8181)",
        "token: is required (or set the environment variable EDR_REMOTE_TOKEN)",
        "database: is required (the remote database name)",
      ]
    `);
  });
});

describe("the token", () => {
  it("comes from EDR_REMOTE_TOKEN when the argument is omitted", () => {
    const config = parseWritesConfig(
      { host: "h", database: "d" },
      { ...options, env: { EDR_REMOTE_TOKEN: " from-env " } },
    );
    expect(config.remote.token).toBe("from-env");
  });

  it("from the argument wins over the environment", () => {
    expect(writes({}, { ...options, env: { EDR_REMOTE_TOKEN: "from-env" } }).remote.token).toBe(base.token);
  });

  it("is read from process.env when no env is injected", () => {
    const saved = process.env["EDR_REMOTE_TOKEN"];
    process.env["EDR_REMOTE_TOKEN"] = "process-env-token";
    try {
      expect(parseWritesConfig({ host: "h", database: "d" }).remote.token).toBe("process-env-token");
    } finally {
      if (saved === undefined) delete process.env["EDR_REMOTE_TOKEN"];
      else process.env["EDR_REMOTE_TOKEN"] = saved;
    }
  });

  it("never appears in an error, even when pasted into other arguments", () => {
    const token = "apiv3_Zx9-very-secret-token-0123456789abcdef";
    const error = argsError(() =>
      parseScheduledConfig(
        `host=${token},token=${token},database=db,tables=${token}..x,window=${token},tokn=${token},${token}`,
        options,
      ),
    );
    const everything = `${error.message}\n${JSON.stringify(error.issues)}`;
    expect(everything).not.toContain(token);
    expect(everything).not.toContain("very-secret");
    expect(error.message).toMatchInlineSnapshot(`
      "[edr-args] 4 problems in the arguments:
        - #7: expected key=value, got "<secret>"
        - tokn: unknown argument; did you mean token?
        - tables: expected no empty table name (look for doubled or trailing separators), got "<secret>..x"
        - window: expected <number><unit> with unit s|min|h|d|w and number >= 1 (e.g. 10s, 5min, 1h), got "<secret>""
    `);
  });

  it("property: an arbitrary token never appears in any issue", () => {
    // Tokens as servers issue them (apiv3_ + base64url): any 16 to 60 characters of that alphabet.
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{16,60}$/);
    const spot = fc.constantFrom(
      "host",
      "database",
      "tables",
      "window",
      "batch_lines",
      "aggregations",
      "nope",
    );
    fc.assert(
      fc.property(token, fc.array(spot, { minLength: 1, maxLength: 4 }), (secret, spots) => {
        const args: Record<string, string> = { ...base, token: secret, window: "1h" };
        for (const name of spots) args[name] = name === "tables" ? `${secret}..` : `${secret}\u0000`;
        try {
          parseScheduledConfig(args, options);
        } catch (error) {
          const e = error as ArgsError;
          const values = e.issues.flatMap((issue) => [
            issue.argument,
            issue.expected,
            issue.message,
            issue.received,
          ]);
          expect(`${e.message}${JSON.stringify(values)}`).not.toContain(secret);
          return;
        }
        throw new Error("expected an error");
      }),
      { numRuns: 200 },
    );
  });
});

describe("queue arguments", () => {
  it("default to PLUGIN_DIR, else ~/.plugins, and 1024 MB", () => {
    expect(writes({}).queue).toEqual({
      dir: "/home/edr/.plugins",
      name: "writes",
      fileName: "edr_queue_writes.jsonl.gz",
      maxBytes: 1024 * 1024 * 1024,
    });
    expect(writes({}, { ...options, env: { PLUGIN_DIR: "/var/lib/plugins" } }).queue.dir).toBe(
      "/var/lib/plugins",
    );
  });

  it("take queue_dir (over PLUGIN_DIR), max_size in MB and the older unique_file_suffix", () => {
    const config = writes(
      { queue_dir: "~/q", max_size: "1", unique_file_suffix: "a_1-b" },
      { ...options, env: { PLUGIN_DIR: "/ignored" } },
    );
    expect(config.queue).toEqual({
      dir: "/home/edr/q",
      name: "writes_a_1-b",
      fileName: "edr_queue_writes_a_1-b.jsonl.gz",
      maxBytes: 1_048_576,
    });
    expect(writes({ queue_dir: "rel/q" }).queue.dir).toBe("/srv/edr/rel/q");
  });

  it("refuse a max_size below 1 MB or not an integer, and a suffix that is not a plain file-name part", () => {
    expect(problems(() => writes({ max_size: "0", unique_file_suffix: "../x" }))).toMatchInlineSnapshot(`
      [
        "max_size: expected an integer ≥ 1, got "0"",
        "unique_file_suffix: expected letters, digits, _ and - only (it becomes part of a file name), got "../x"",
      ]
    `);
    expect(problems(() => writes({ max_size: "0.5" }))).toMatchInlineSnapshot(`
      [
        "max_size: expected an integer ≥ 1, got "0.5"",
      ]
    `);
  });

  it("name the queue after the mode and the suffix, and keep fileName edr-queue's head file of that name", () => {
    const scheduled = parseScheduledConfig(
      { ...base, window: "1h", unique_file_suffix: "suffix123" },
      options,
    ).queue;
    expect([scheduled.name, scheduled.fileName]).toEqual([
      "schedule_suffix123",
      "edr_queue_schedule_suffix123.jsonl.gz",
    ]);
    expect(parseScheduledConfig({ ...base, window: "1h" }, options).queue.name).toBe("schedule");
    for (const config of [writes({}), writes({ unique_file_suffix: "Z-9_" })]) {
      expect(config.queue.fileName).toBe(`edr_queue_${config.queue.name}.jsonl.gz`);
      // edr-queue's rule for a queue name.
      expect(config.queue.name).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it("refuse a unique_file_suffix longer than 64 characters", () => {
    expect(writes({ unique_file_suffix: "a".repeat(64) }).queue.name).toBe(`writes_${"a".repeat(64)}`);
    expect(problems(() => writes({ unique_file_suffix: "a".repeat(65) }))).toMatchInlineSnapshot(`
      [
        "unique_file_suffix: expected at most 64 characters (it becomes part of a file name), got "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…"",
      ]
    `);
  });
});

describe("local arguments", () => {
  it("default to an InfluxDB 3 on this machine", () => {
    expect(writes({}).local).toEqual({ url: "http://127.0.0.1:8181" });
  });

  it("take local_host (port rule without port_override), local_database and local_token or EDR_LOCAL_TOKEN", () => {
    expect(
      writes({ local_host: "https://[::1]", local_database: "src", local_token: "lt", port_override: "1" })
        .local,
    ).toEqual({
      url: "https://[::1]:443",
      database: "src",
      token: "lt",
    });
    expect(writes({}, { ...options, env: { EDR_LOCAL_TOKEN: "env-local" } }).local.token).toBe("env-local");
  });

  it("refuse a bad local_host and never echo local_token", () => {
    const error = argsError(() =>
      writes({ local_host: "ftp://x", local_token: "local-secret-token", database: "local-secret-token" }),
    );
    expect(error.message).not.toContain("local-secret-token");
    expect(error.message).toMatchInlineSnapshot(`
      "[edr-args] 1 problem in the arguments:
        - local_host: expected the scheme http:// or https:// (or none, for http), got "ftp://x""
    `);
  });
});
