import type { Mode } from "./arguments.js";
import type { QueueConfig, ScheduledConfig, WritesConfig } from "./config.js";
import {
  DEFAULT_AGGREGATE_GRACE_MS,
  DEFAULT_CATCH_UP,
  DEFAULT_MAX_SIZE_MB,
  PLUGIN_DIR_ENV,
} from "./config.js";
import { formatDuration, readDuration } from "./duration.js";
import type { ArgumentValues, ArgsInput } from "./read-input.js";
import { readInput } from "./read-input.js";
import type { Environment } from "./remote-config.js";
import { optional, readLocal, readRemote } from "./remote-config.js";
import type { PathContext } from "./scalars.js";
import { defaultPathContext, readBoolean, readInteger, resolvePath } from "./scalars.js";
import { readTransform } from "./transform-config.js";

/** What the config parsers read besides the arguments; every part injectable for tests. */
export interface ParseConfigOptions {
  /** Where `EDR_REMOTE_TOKEN`, `EDR_LOCAL_TOKEN` and `PLUGIN_DIR` are read. @default process.env */
  env?: Environment;
  /** What `~` stands for in paths. @default os.homedir() */
  homeDir?: string;
  /** What relative paths are resolved against. @default process.cwd() */
  cwd?: string;
}

/**
 * Parses and checks the arguments of the scheduled mode (`every:<duration>` or `cron:` triggers) into a
 * {@link ScheduledConfig}. Takes the trigger-argument string (then its syntax problems are reported together
 * with everything else) or an object of values. Throws one {@link ArgsError} listing every problem.
 *
 * @example parseScheduledConfig("host=https://10.0.0.2,token=t0ken,database=db,tables=cpu.mem,window=1h")
 */
export function parseScheduledConfig(args: ArgsInput, options: ParseConfigOptions = {}): ScheduledConfig {
  const values = readInput(args, "scheduled");
  const common = readCommon(values, "scheduled", options);
  const { get, has, issues } = values;

  const windowText = get("window");
  let windowMs: number | undefined;
  if (!has("window")) {
    issues.addNote("window", "is required in scheduled mode (e.g. window=1h)", "a duration");
  } else if (windowText !== undefined) {
    const window = readDuration(windowText);
    if (window.ok) windowMs = window.ms;
    else issues.add("window", window.expected, windowText);
  }
  const offsetMs = optional(get("offset"), 0, (text) => {
    const offset = readDuration(text, { allowZero: true });
    if (!offset.ok) issues.add("offset", offset.expected, text);
    return offset.ok ? offset.ms : undefined;
  });
  const catchUp = optional(get("catch_up"), DEFAULT_CATCH_UP, (text) =>
    readBoolean("catch_up", text, issues),
  );

  const intervalMs = common?.transform.downsampling?.intervalMs;
  if (intervalMs !== undefined) {
    // A bucket split between two runs is written twice, and the second half would overwrite the first.
    for (const [argument, ms] of [
      ["window", windowMs],
      ["offset", offsetMs],
    ] as const) {
      if (ms !== undefined && ms % intervalMs !== 0) {
        issues.addNote(
          argument,
          `(${formatDuration(ms)}) must be a whole multiple of aggregate_interval (${formatDuration(intervalMs)}), or a bucket is split between two runs and its second half overwrites the first at the remote`,
          "a multiple of aggregate_interval",
        );
      }
    }
  }

  issues.throwIfAny();
  if (common === undefined || windowMs === undefined || offsetMs === undefined || catchUp === undefined) {
    throw new Error("[edr-args] internal: a setting is missing without an issue");
  }
  return { mode: "scheduled", ...common, windowMs, offsetMs, catchUp };
}

/**
 * Parses and checks the arguments of the on-write mode into a {@link WritesConfig}. Takes the
 * trigger-argument string or an object of values. Throws one {@link ArgsError} listing every problem.
 *
 * @example parseWritesConfig({ host: "12.4.0.1", token: "t0ken", database: "db", aggregate_interval: "1m" })
 */
export function parseWritesConfig(args: ArgsInput, options: ParseConfigOptions = {}): WritesConfig {
  const values = readInput(args, "writes");
  const common = readCommon(values, "writes", options);
  const { get, issues } = values;
  const graceText = get("aggregate_grace");
  const aggregateGraceMs = optional(graceText, DEFAULT_AGGREGATE_GRACE_MS, (text) => {
    const grace = readDuration(text, { allowZero: true });
    if (!grace.ok) issues.add("aggregate_grace", grace.expected, text);
    return grace.ok ? grace.ms : undefined;
  });
  if (graceText !== undefined && common !== undefined && common.transform.downsampling === undefined) {
    issues.addNote(
      "aggregate_grace",
      "needs aggregate_interval (it says how long a downsampling bucket waits for late points)",
      "aggregate_interval with it, or no aggregate_grace",
    );
  }
  issues.throwIfAny();
  if (common === undefined || aggregateGraceMs === undefined)
    throw new Error("[edr-args] internal: a setting is missing without an issue");
  return { mode: "writes", ...common, aggregateGraceMs };
}

function readCommon(values: ArgumentValues, mode: Mode, options: ParseConfigOptions) {
  const env = options.env ?? process.env;
  const defaults = defaultPathContext();
  const paths: PathContext = {
    homeDir: options.homeDir ?? defaults.homeDir,
    cwd: options.cwd ?? defaults.cwd,
  };
  const remote = readRemote(values, env, paths);
  const local = readLocal(values, env);
  const transform = readTransform(values, mode);
  const queue = readQueue(values, mode, env, paths);
  if (remote === undefined || local === undefined || transform === undefined || queue === undefined)
    return undefined;
  return { remote, local, transform, queue };
}

const MIB = 1024 * 1024;

/**
 * Longest `unique_file_suffix`: the queue's longest file (`edr_queue_<name>.NNNNNN.jsonl.gz`) and its side
 * files then stay far below the 255 bytes a file name may have.
 */
export const MAX_FILE_SUFFIX_LENGTH = 64;

function readQueue(
  values: ArgumentValues,
  mode: Mode,
  env: Environment,
  paths: PathContext,
): QueueConfig | undefined {
  const { get, issues } = values;
  const maxSizeMb = optional(get("max_size"), DEFAULT_MAX_SIZE_MB, (text) => {
    const mb = readInteger("max_size", text, issues, 1);
    if (mb === undefined || Number.isSafeInteger(mb * MIB)) return mb;
    issues.add("max_size", `at most ${Math.floor(Number.MAX_SAFE_INTEGER / MIB)} (MB)`, text);
    return undefined;
  });
  const dirText = get("queue_dir") ?? nonEmpty(env[PLUGIN_DIR_ENV]) ?? "~/.plugins";
  const suffix = get("unique_file_suffix");
  // The same characters edr-queue allows in a queue name, so the name below is always one it takes.
  if (suffix !== undefined && !/^[A-Za-z0-9_-]+$/.test(suffix)) {
    issues.add(
      "unique_file_suffix",
      "letters, digits, _ and - only (it becomes part of a file name)",
      suffix,
    );
    return undefined;
  }
  if (suffix !== undefined && suffix.length > MAX_FILE_SUFFIX_LENGTH) {
    issues.add(
      "unique_file_suffix",
      `at most ${MAX_FILE_SUFFIX_LENGTH} characters (it becomes part of a file name)`,
      suffix,
    );
    return undefined;
  }
  if (maxSizeMb === undefined) return undefined;
  const base = mode === "writes" ? "writes" : "schedule";
  const name = suffix === undefined ? base : `${base}_${suffix}`;
  return {
    dir: resolvePath(dirText, paths),
    name,
    fileName: `edr_queue_${name}.jsonl.gz`,
    maxBytes: maxSizeMb * MIB,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
