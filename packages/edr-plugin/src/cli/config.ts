import {
  ArgsError,
  parseScheduledConfig,
  parseWritesConfig,
  splitTriggerArguments,
  type ArgsIssue,
  type ScheduledConfig,
  type WritesConfig,
} from "edr-args";

/** Flags that stand for a trigger argument, so a command line does not need a long argument string. */
export const ARGUMENT_FLAGS = {
  "local-url": "local_host",
  "local-db": "local_database",
  "local-token": "local_token",
  "queue-dir": "queue_dir",
} as const satisfies Record<string, string>;

type ArgumentFlag = keyof typeof ARGUMENT_FLAGS;

/**
 * Builds the config of a mode from `--trigger-arguments` (the engine's `k=v,k2=v2` string, copied as is from
 * an `influxdb3 create trigger` line) and the flags that stand for arguments. Throws one `ArgsError` that
 * lists every problem: the string's syntax, an argument given both ways, and every check of edr-args.
 */
export function buildConfig(
  mode: "scheduled",
  text: string | undefined,
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): ScheduledConfig;
export function buildConfig(
  mode: "writes",
  text: string | undefined,
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): WritesConfig;
export function buildConfig(
  mode: "scheduled" | "writes",
  text: string | undefined,
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): ScheduledConfig | WritesConfig {
  const { args, issues } = splitTriggerArguments(text ?? "");
  const problems: ArgsIssue[] = issues.list();
  for (const [flag, argument] of Object.entries(ARGUMENT_FLAGS) as [ArgumentFlag, string][]) {
    const value = flags[flag];
    if (typeof value !== "string") continue;
    if (argument in args) {
      problems.push({
        argument,
        expected: "each argument once",
        message: `${argument}: given both in --trigger-arguments and as --${flag}; keep one`,
      });
      continue;
    }
    args[argument] = value;
  }
  try {
    const parse = mode === "scheduled" ? parseScheduledConfig : parseWritesConfig;
    const config = parse(args, { env });
    if (problems.length > 0) throw new ArgsError(problems);
    return config;
  } catch (error) {
    if (!(error instanceof ArgsError)) throw error;
    // The string's own problems first, then the rest, each once.
    const seen = new Set(problems.map((p) => p.message));
    throw new ArgsError([...problems, ...error.issues.filter((issue) => !seen.has(issue.message))]);
  }
}

/**
 * Whether the local database is named (`--local-db` or `local_database=`), read from the flags and the raw
 * argument string so it can be checked even when other arguments are wrong and no config was built: every
 * problem is then listed at once, a missing database among them.
 */
export function namesLocalDatabase(
  text: string | undefined,
  flags: Readonly<Record<string, string | boolean | undefined>>,
): boolean {
  if (typeof flags["local-db"] === "string" && flags["local-db"] !== "") return true;
  const value = splitTriggerArguments(text ?? "").args["local_database"];
  return value !== undefined && value.trim() !== "";
}
