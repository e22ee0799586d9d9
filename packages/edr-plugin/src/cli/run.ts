import { readFileSync } from "node:fs";
import { ArgsError, formatArgumentsHelp } from "edr-args";
import { QueueError } from "edr-queue";
import { SinkError } from "edr-sink";
import { TransformError } from "edr-transform";
import { PluginError } from "../errors.js";
import { consoleLogger, type ReplicatorLogger } from "../logger.js";
import { createContext, type CommandContext } from "./command.js";
import { LIST_FLAGS, REPLAY_FLAGS, listCommand, replayCommand } from "./dead-letter-command.js";
import { formatFlagsHelp, readFlags, type FlagSpec } from "./flags.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from "./io.js";
import { DRAIN_FLAGS, INSPECT_FLAGS, drainCommand, inspectCommand } from "./queue-command.js";
import { LISTEN_FLAGS, listenCommand } from "./listen-command.js";
import { SCHEDULE_FLAGS, scheduleCommand } from "./schedule-command.js";
import { STATUS_FLAGS, statusCommand } from "./status-command.js";

/** One command of `edr`: its words, flags, help and what it does. */
interface Command {
  readonly words: string;
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Shown after the options: examples, and the trigger arguments where the command takes them. */
  readonly details: () => string;
  readonly run: (context: CommandContext) => Promise<number>;
}

const TOKENS_NOTE =
  "Tokens: token= and local_token= in the arguments, or EDR_REMOTE_TOKEN and EDR_LOCAL_TOKEN in the environment\n" +
  "(which keeps them out of `ps` and shell history). edr never prints them.";

const COMMANDS: readonly Command[] = [
  {
    words: "schedule",
    summary: "copy a time window of the local instance to the remote on a schedule (every:10s, cron:…)",
    flags: SCHEDULE_FLAGS,
    details: () => `Examples:
  # The Python plugin's  influxdb3 create trigger --database mydb --trigger-spec "every:10s" \\
  #   --trigger-arguments "host=…,token=…,database=replica,tables=cpu.mem,window=10s"  becomes:
  export EDR_REMOTE_TOKEN=… EDR_LOCAL_TOKEN=…
  edr schedule --trigger-spec every:10s --local-db mydb \\
    --trigger-arguments "host=https://central.example.com,database=replica,tables=cpu.mem,window=10s"

  # One run for a given window end, then exit (0 when everything was delivered):
  edr schedule --once --call-time 2026-01-01T00:10:00Z --local-db mydb --trigger-arguments "…,window=10min"

Each run copies [call time - offset - window, call time - offset) of every table, transformed and queued on
disk before it is sent. A watermark per table remembers how far it got: after downtime the next run first
copies the windows it missed, oldest first, in one-hour chunks (catch_up=false keeps the Python plugin's
behaviour of skipping them). Runs never overlap. SIGINT/SIGTERM finish the current run and exit 0; a second
signal exits at once (the queue is on disk; the next start sends it).

Trigger arguments (scheduled mode):
${formatArgumentsHelp("scheduled")}

${TOKENS_NOTE}`,
    run: scheduleCommand,
  },
  {
    words: "listen",
    summary: "replicate on write: an InfluxDB write endpoint in front of the local instance",
    flags: LISTEN_FLAGS,
    details: () => `Examples:
  # The Python plugin's on-write trigger (--trigger-spec "all_tables") becomes:
  export EDR_REMOTE_TOKEN=…
  edr listen --local-url http://127.0.0.1:8181 --local-db mydb \\
    --trigger-arguments "host=https://central.example.com,database=replica,tables=cpu.mem,aggregate_interval=1min"
  # then write to edr instead of the local instance (same API, same token):
  curl -H "Authorization: Bearer $LOCAL_TOKEN" --data-binary 'cpu,host=a usage=1.5' \\
    "http://127.0.0.1:8182/api/v3/write_lp?db=mydb"

Each write to --local-db (on /api/v3/write_lp, /api/v2/write or /write) is forwarded to the local instance with
the client's own token; once the local instance stored it, its lines are queued for the remote (on disk), and
only then does the client get the local instance's answer. Lines without a timestamp are stamped first, so both
copies carry the same time. Everything else (queries, other databases) passes through untouched. Every flush
interval the written lines go through the transform to the queue; with aggregate_interval a bucket is sent once
it has closed (plus aggregate_grace). When the queue is full, writes get 503 with Retry-After. /status and
/metrics are served on the same address; POST /api/edr/v1/table_batches takes the engine's table batches.
SIGINT/SIGTERM stop taking writes, finish those in flight and exit 0.

Trigger arguments (on-write mode):
${formatArgumentsHelp("writes")}

${TOKENS_NOTE}`,
    run: listenCommand,
  },
  {
    words: "status",
    summary: "the state of a running edr listen or edr schedule, at a glance (exit 0 when healthy)",
    flags: STATUS_FLAGS,
    details: () => `Examples:
  edr status
  edr status --url http://10.0.0.5:8182 --json

It asks GET /status of edr listen (127.0.0.1:8182) and edr schedule (127.0.0.1:8183) unless --url names one.
Exit codes: 0 every edr that answered is healthy, 1 one is degraded or halted, or none answered.`,
    run: statusCommand,
  },
  {
    words: "queue inspect",
    summary: "what a queue holds: lines, bytes, age, tables, dead letters, watermarks (read-only)",
    flags: INSPECT_FLAGS,
    details: () => `Examples:
  edr queue inspect                         # every queue in $PLUGIN_DIR or ~/.plugins
  edr queue inspect --queue-dir /var/lib/edr --queue schedule --json

It takes no lock and writes nothing, so it is safe while an edr process owns the queue.`,
    run: inspectCommand,
  },
  {
    words: "queue drain",
    summary: "send everything queued now; exit 0 when the queue is empty, 1 when lines are left",
    flags: DRAIN_FLAGS,
    details: () => `Example:
  edr queue drain --trigger-arguments "host=https://central.example.com,database=replica,window=10s"

It takes the queue's lock: stop the edr process that owns the queue first (it drains on its own anyway).
Lines the remote refuses for good go to the dead-letter file, as they would in a run.

${TOKENS_NOTE}`,
    run: drainCommand,
  },
  {
    words: "dead-letter list",
    summary: "the lines the remote refused for good, with its status and reason (read-only)",
    flags: LIST_FLAGS,
    details: () => `Examples:
  edr dead-letter list
  edr dead-letter list --queue writes --status 400 --json | jq .reason`,
    run: listCommand,
  },
  {
    words: "dead-letter replay",
    summary: "send the dead letters again once the remote accepts them (after a schema fix)",
    flags: REPLAY_FLAGS,
    details: () => `Example:
  edr dead-letter replay --table cpu --trigger-arguments "host=https://central.example.com,database=replica,window=10s"

Delivered letters leave the file; letters refused again stay with the remote's new reason. It takes the
queue's lock: stop the edr process that owns the queue first.

${TOKENS_NOTE}`,
    run: replayCommand,
  },
];

/**
 * Runs the `edr` command line and resolves to its exit code: 0 done, 1 a runtime failure (one clear line on
 * stderr), 2 bad arguments (every problem listed). Never rejects.
 */
export async function runEdr(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [first, second] = argv;
    if (first === undefined) {
      io.stderr(mainHelp());
      return EXIT_USAGE;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      io.stdout(mainHelp());
      return EXIT_OK;
    }
    if (first === "--version" || first === "-v") {
      io.stdout(`edr ${version()}\n`);
      return EXIT_OK;
    }
    const command =
      COMMANDS.find((c) => c.words === `${first} ${second ?? ""}`) ?? COMMANDS.find((c) => c.words === first);
    if (command === undefined) return unknownCommand(argv, io);
    const rest = argv.slice(command.words.split(" ").length);
    const flags = readFlags(rest, command.flags);
    if (flags.values["help"] === true) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    const logger = commandLogger(flags.values["verbose"] === true);
    const problems = [
      ...flags.problems,
      ...flags.positionals.map((word) => `unexpected argument ${JSON.stringify(word)}`),
    ];
    const context = createContext(command.words, {
      flags: flags.values,
      positionals: flags.positionals,
      logger,
      io,
      problems,
    });
    return await command.run(context);
  } catch (error) {
    return failure(error, io);
  }
}

/** A runtime error as one line (and exit 1), or a usage error (exit 2). */
function failure(error: unknown, io: CliIo): number {
  if (isEdrError(error) && error.code === "INVALID_ARGUMENT") {
    // An ArgsError lists every problem, one per line: all of them are shown.
    io.stderr(`edr: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof QueueError && error.code === "LOCKED") {
    io.stderr(
      `edr: ${error.message} (is another edr running on this queue? stop it first, or use edr queue inspect)\n`,
    );
    return EXIT_FAILURE;
  }
  const text = error instanceof Error ? error.message : String(error);
  io.stderr(`edr: ${text.split("\n")[0]}\n`);
  return EXIT_FAILURE;
}

/** An error of an edr package: they share one scheme, a `code` to switch on (`INVALID_ARGUMENT`: exit 2). */
function isEdrError(error: unknown): error is { code: string; message: string } {
  return (
    error instanceof ArgsError ||
    error instanceof TransformError ||
    error instanceof QueueError ||
    error instanceof SinkError ||
    error instanceof PluginError
  );
}

function unknownCommand(argv: readonly string[], io: CliIo): number {
  const words = argv
    .filter((word) => !word.startsWith("-"))
    .slice(0, 2)
    .join(" ");
  const group = COMMANDS.filter((c) => c.words.startsWith(`${argv[0]} `));
  const hint =
    group.length > 0
      ? `expected one of: ${group.map((c) => `edr ${c.words}`).join(", ")}`
      : "run `edr --help` for the commands";
  io.stderr(`edr: unknown command ${JSON.stringify(words)}; ${hint}\n`);
  return EXIT_USAGE;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.words.length)) + 2;
  return `edr ${version()}: replicate InfluxDB 3 data from a local instance to a remote one, durably, with filters,
renames and downsampling on the way. It takes the same trigger arguments as InfluxData's Python
"Data Replicator" plugin.

Usage: edr <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.words.padEnd(width)}${c.summary}`).join("\n")}

Run \`edr <command> --help\` for its options and examples.

Example:
  export EDR_REMOTE_TOKEN=… EDR_LOCAL_TOKEN=…
  edr schedule --trigger-spec every:10s --local-db mydb \\
    --trigger-arguments "host=https://central.example.com,database=replica,tables=cpu.mem,window=10s"
  edr queue inspect

Exit codes: 0 done, 1 a failure (said in one line), 2 bad arguments (every problem listed).
${TOKENS_NOTE}
`;
}

function commandHelp(command: Command): string {
  return `edr ${command.words}: ${command.summary}

Usage: edr ${command.words} [options]

Options:
${formatFlagsHelp(command.flags)}

${command.details()}
`;
}

function commandLogger(verbose: boolean): ReplicatorLogger {
  if (!verbose) return consoleLogger;
  return {
    ...consoleLogger,
    debug: (message) => process.stderr.write(`${new Date().toISOString()} DEBUG ${message}\n`),
  };
}

let cachedVersion: string | undefined;

/** edr-plugin's version, from its package.json (one level above src/ and dist/ alike). */
function version(): string {
  cachedVersion ??= (
    JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
  return cachedVersion;
}
