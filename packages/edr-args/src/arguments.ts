/** The two ways edr runs: on a schedule (copy a time window) or on writes (copy what was just written). */
export type Mode = "scheduled" | "writes";

/** One known trigger argument, as `edr --help` and the README describe it. */
export interface ArgumentSpec {
  /** The name as typed: `excluded_fields`. */
  name: string;
  /** What it is for, in one line. */
  description: string;
  /** The modes that take it. */
  modes: readonly Mode[];
  /** What a value must look like (and whether it is required). */
  constraint: string;
  /** The default, as a user would write it; absent when there is none. */
  default?: string;
  /** Its value is a secret: never echoed. */
  secret?: boolean;
}

const BOTH: readonly Mode[] = ["scheduled", "writes"];
const SCHEDULED: readonly Mode[] = ["scheduled"];
const WRITES: readonly Mode[] = ["writes"];

/** Every argument edr-args knows, in the order they are checked and documented. */
export const ARGUMENTS: readonly ArgumentSpec[] = [
  {
    name: "host",
    description: "Remote InfluxDB host URL.",
    modes: BOTH,
    constraint:
      "Required. `http://127.0.0.1`, `12.4.0.1`, `https://12.4.0.1:8181`, `example.com:8181`, `[::1]`, quotes allowed; no scheme means http.",
  },
  {
    name: "token",
    description: "Remote InfluxDB API token, or set `EDR_REMOTE_TOKEN`.",
    modes: BOTH,
    constraint: "Required unless the environment variable `EDR_REMOTE_TOKEN` is set. Never echoed.",
    secret: true,
  },
  { name: "database", description: "Remote database name.", modes: BOTH, constraint: "Required." },
  {
    name: "port_override",
    description: "Port to write to when `host` names none.",
    modes: BOTH,
    constraint: "Integer 1..65535. A port written in `host` wins over it.",
    default: "443 for https, 8181 for http",
  },
  {
    name: "verify_ssl",
    description: "Whether to verify the remote's TLS certificate.",
    modes: BOTH,
    constraint: "`true` or `false`, any case.",
    default: "true",
  },
  {
    name: "ca_file",
    description: "PEM file of CA certificates to trust for the remote.",
    modes: BOTH,
    constraint: "A path (`~` expanded); only with an https host.",
  },
  {
    name: "write_api",
    description: "Which write endpoint of the remote to use.",
    modes: BOTH,
    constraint: "`v3` (`/api/v3/write_lp`), `v2` (`/api/v2/write`) or `v1` (`/write`, also InfluxDB 1.x).",
    default: "v3",
  },
  {
    name: "max_retries",
    description: "Retries of each write request after its first attempt; what fails stays queued.",
    modes: BOTH,
    constraint:
      "Integer ≥ 0: a request is sent at most 1 + `max_retries` times per write call (each half of a split batch counts its own).",
    default: "3",
  },
  {
    name: "batch_lines",
    description: "At most this many lines per write request.",
    modes: BOTH,
    constraint: "Integer ≥ 1.",
    default: "100000",
  },
  {
    name: "batch_bytes",
    description: "At most this many bytes of line protocol per write request.",
    modes: BOTH,
    constraint: "Integer bytes, or with `KiB`/`MiB` (`4MiB`); 1 to 10 MiB (InfluxDB 3's request limit).",
    default: "6MiB",
  },
  {
    name: "max_in_flight",
    description: "Write requests in flight at once (series never reordered).",
    modes: BOTH,
    constraint: "Integer 1..64.",
    default: "4",
  },
  {
    name: "timeout",
    description: "Time allowed for one write request.",
    modes: BOTH,
    constraint: "Duration `<number><unit>`, unit `s`, `min`, `h`, `d`, `w`.",
    default: "30s",
  },
  {
    name: "tables",
    description: "Dot-separated list of tables to replicate.",
    modes: BOTH,
    constraint:
      "`table1.table2`; optional: without it (and without `source_measurement`) all tables are replicated.",
  },
  {
    name: "source_measurement",
    description: "The one table to replicate (older name, scheduled mode).",
    modes: SCHEDULED,
    constraint: "One table name (may hold dots); not together with `tables`.",
  },
  {
    name: "excluded_fields",
    description: "Fields (or tags) to leave out, per table.",
    modes: BOTH,
    constraint: "`<table1>:<field1>@<field2>.<table2>:<field3>`",
  },
  {
    name: "tables_rename",
    description: "Table renames.",
    modes: BOTH,
    constraint: "`<old_table1>:<new_table1>.<old_table2>:<new_table2>`",
  },
  {
    name: "target_table",
    description: "New name of the one replicated table (older form of `tables_rename`).",
    modes: BOTH,
    constraint:
      "One table name; needs exactly one table in `tables`/`source_measurement`; not with `tables_rename`.",
  },
  {
    name: "field_renames",
    description: "Field (or tag) renames, per table.",
    modes: BOTH,
    constraint:
      "`table1:oldA@newA$oldB@newB.table2:oldX@newX` (older `table1:oldA@newA oldB@newB` also read).",
  },
  {
    name: "aggregate_interval",
    description: "Downsample into buckets of this width.",
    modes: BOTH,
    constraint: "Duration `<number><unit>` (`1min`, `1h`; `1m` is a minute); absent: no downsampling.",
  },
  {
    name: "aggregate_grace",
    description: "How long a downsampling bucket waits for late points after its end.",
    modes: WRITES,
    constraint:
      "Duration `<number><unit>` or `0`; needs `aggregate_interval`. A point for a bucket already emitted is dead-lettered as late.",
    default: "30s",
  },
  {
    name: "aggregations",
    description: "Aggregate function per field when downsampling.",
    modes: BOTH,
    constraint:
      "`avg` for all, or `cpu:usage@max$temp@min.mem:used@avg`; avg, sum, min, max, count, first, last, median. Needs `aggregate_interval`.",
    default: "avg for numbers, last for strings and booleans",
  },
  {
    name: "window",
    description: "Time window copied by each scheduled run.",
    modes: SCHEDULED,
    constraint: "Required. Duration `<number><unit>`, unit `s`, `min`, `h`, `d`, `w`, number ≥ 1.",
  },
  {
    name: "offset",
    description: "How far behind the run time the window ends.",
    modes: SCHEDULED,
    constraint: "Duration `<number><unit>`, unit `s`, `min`, `h`, `d`, `w`, or `0`.",
    default: "0",
  },
  {
    name: "catch_up",
    description: "After downtime, copy the windows missed, oldest first, before the current one.",
    modes: SCHEDULED,
    constraint:
      "`true` or `false`, any case; `false` keeps the Python plugin's behaviour (missed windows are never copied).",
    default: "true",
  },
  {
    name: "max_size",
    description: "Maximum size of the queue in MB.",
    modes: BOTH,
    constraint: "Integer ≥ 1.",
    default: "1024",
  },
  {
    name: "queue_dir",
    description: "Directory of the queue file.",
    modes: BOTH,
    constraint: "A path (`~` expanded).",
    default: "`PLUGIN_DIR` environment variable, else `~/.plugins`",
  },
  {
    name: "unique_file_suffix",
    description: "Suffix of the queue file name (older plugins' argument).",
    modes: BOTH,
    constraint:
      "Letters, digits, `_` and `-`, at most 64: the queue file becomes `edr_queue_<writes|schedule>_<suffix>.jsonl.gz`.",
  },
  {
    name: "local_host",
    description: "The local (source) InfluxDB, when edr runs outside the processing engine.",
    modes: BOTH,
    constraint: "Same forms as `host`; no scheme means http, no port 8181.",
    default: "http://127.0.0.1:8181",
  },
  {
    name: "local_database",
    description: "The local database to read from, outside the processing engine.",
    modes: BOTH,
    constraint: "A database name.",
  },
  {
    name: "local_token",
    description: "Token for the local instance, or set `EDR_LOCAL_TOKEN`.",
    modes: BOTH,
    constraint: "Optional; else the environment variable `EDR_LOCAL_TOKEN`. Never echoed.",
    secret: true,
  },
];

/** The specs by name. */
export const ARGUMENTS_BY_NAME: ReadonlyMap<string, ArgumentSpec> = new Map(
  ARGUMENTS.map((spec) => [spec.name, spec]),
);

/** The argument names a mode takes, in documentation order. */
export function argumentNames(mode: Mode): string[] {
  return ARGUMENTS.filter((spec) => spec.modes.includes(mode)).map((spec) => spec.name);
}

/**
 * The arguments of a mode as plain text for a terminal (`edr --help`): one line per argument, name padded to a
 * column, then its description and, in brackets, its default or "required".
 */
export function formatArgumentsHelp(mode: Mode): string {
  const specs = ARGUMENTS.filter((spec) => spec.modes.includes(mode));
  const width = Math.max(...specs.map((spec) => spec.name.length)) + 2;
  return specs
    .map((spec) => {
      const required = /^Required\b/.test(spec.constraint);
      const note = required ? " (required)" : spec.default === undefined ? "" : ` (default: ${spec.default})`;
      return `  ${spec.name.padEnd(width)}${spec.description}${note}`.replaceAll("`", "");
    })
    .join("\n");
}
