import { readDeadLetters } from "../dead-letter-view.js";
import type { DeadLetter } from "../dead-letters.js";
import { createReplicator } from "../replicator.js";
import { say, signalPlan, type CommandContext } from "./command.js";
import { buildConfig } from "./config.js";
import type { FlagSpec } from "./flags.js";
import { formatCount } from "./format.js";
import { EXIT_FAILURE, EXIT_OK } from "./io.js";
import { queueDir } from "./queue-command.js";
import { splitTriggerArguments } from "edr-args";

const FILTER_FLAGS: Readonly<Record<string, FlagSpec>> = {
  table: { type: "string", value: "TABLE", description: "only the letters of this table" },
  status: {
    type: "string",
    value: "CODE",
    description: "only the letters the remote refused with this HTTP status (400, 422…)",
  },
};

export const LIST_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "queue-dir": {
    type: "string",
    value: "DIR",
    description: "the queue directory (default $PLUGIN_DIR, else ~/.plugins)",
  },
  queue: {
    type: "string",
    value: "NAME",
    description: "whose dead letters: schedule (default), writes, or a name with a suffix",
  },
  ...FILTER_FLAGS,
  limit: { type: "string", value: "N", description: "print at most N letters (the oldest)" },
  json: {
    type: "boolean",
    description: "one JSON object per letter (line, table, status, reason, time, ordinal)",
  },
};

export const REPLAY_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "trigger-arguments": {
    type: "string",
    value: "ARGS",
    description: "the remote to send to (host, token, database…), as for edr schedule",
  },
  "queue-dir": { type: "string", value: "DIR", description: "the queue directory (argument queue_dir)" },
  queue: {
    type: "string",
    value: "NAME",
    description:
      "whose dead letters: schedule (when the arguments hold window=), writes, or a name with a suffix",
  },
  ...FILTER_FLAGS,
  verbose: { type: "boolean", description: "also log each retry and request (debug lines)" },
};

/** `edr dead-letter list`: the lines the remote refused, with its reasons (read-only). */
export async function listCommand(context: CommandContext): Promise<number> {
  const { flags, io } = context;
  const problems = context.problems;
  const dir = queueDir(flags, io.env, problems);
  const name = typeof flags["queue"] === "string" ? flags["queue"] : "schedule";
  const filter = readFilter(flags, problems);
  const limit = readLimit(flags["limit"], problems);
  if (problems.length > 0 || dir === undefined || filter === undefined) return context.usageError();
  let shown = 0;
  let matched = 0;
  for await (const letter of readDeadLetters(dir, name)) {
    if (!filter(letter)) continue;
    matched++;
    if (limit !== undefined && shown >= limit) continue;
    shown++;
    io.stdout(flags["json"] === true ? `${JSON.stringify(letter)}\n` : formatLetter(letter));
  }
  if (flags["json"] !== true) {
    const more = matched > shown ? ` (${formatCount(matched - shown)} more not shown)` : "";
    say(io, `${formatCount(matched)} dead letters of queue ${name} in ${dir}${more}`);
  }
  return EXIT_OK;
}

/** `edr dead-letter replay`: sends the letters again, once the remote's schema is fixed. */
export async function replayCommand(context: CommandContext): Promise<number> {
  const { flags, io } = context;
  const problems = context.problems;
  const text = typeof flags["trigger-arguments"] === "string" ? flags["trigger-arguments"] : undefined;
  if (text === undefined)
    problems.push("--trigger-arguments: required, the remote to send to (host=…,token=…,database=…)");
  const filter = readFilter(flags, problems);
  const scheduled = text !== undefined && "window" in splitTriggerArguments(text).args;
  const config = context.config(() =>
    scheduled ? buildConfig("scheduled", text, flags, io.env) : buildConfig("writes", text, flags, io.env),
  );
  if (problems.length > 0 || config === undefined || filter === undefined) return context.usageError();
  const name = typeof flags["queue"] === "string" ? flags["queue"] : config.queue.name;
  const queue = { ...config.queue, name, fileName: `edr_queue_${name}.jsonl.gz` };
  // The replicator takes the queue's lock: a replay never races the edr that appends to the same letters.
  const replicator = await createReplicator({ ...config, queue }, { logger: context.logger });
  const signals = signalPlan(io, "the replay");
  try {
    say(
      io,
      `edr dead-letter replay: sending the dead letters of queue ${name} to ${config.remote.url} database ${config.remote.database}`,
    );
    const result = await replicator.replayDeadLetters({ filter });
    io.stdout(
      `delivered ${formatCount(result.delivered)} (removed from the file), refused again ${formatCount(result.rejected)}, ` +
        `not delivered ${formatCount(result.notDelivered)}${result.halted === undefined ? "" : `; ${result.halted}`}\n`,
    );
    return result.rejected + result.notDelivered === 0 && result.halted === undefined
      ? EXIT_OK
      : EXIT_FAILURE;
  } finally {
    await replicator.close();
    signals.dispose();
  }
}

/** A letter as a few lines a person reads: when, status, table, reason, then the line itself. */
export function formatLetter(letter: DeadLetter): string {
  const line = letter.line.length > 200 ? `${letter.line.slice(0, 199)}…` : letter.line;
  return `${letter.time}  ${letter.status}  ${letter.table}\n  reason: ${letter.reason}\n  line:   ${JSON.stringify(line).slice(1, -1)}\n`;
}

function readFilter(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  problems: string[],
): ((letter: DeadLetter) => boolean) | undefined {
  const table = typeof flags["table"] === "string" ? flags["table"] : undefined;
  const statusText = typeof flags["status"] === "string" ? flags["status"] : undefined;
  let status: number | undefined;
  if (statusText !== undefined) {
    if (!/^[1-5][0-9][0-9]$/.test(statusText)) {
      problems.push(`--status: expected an HTTP status such as 400, got ${JSON.stringify(statusText)}`);
      return undefined;
    }
    status = Number(statusText);
  }
  return (letter) =>
    (table === undefined || letter.table === table) && (status === undefined || letter.status === status);
}

function readLimit(value: string | boolean | undefined, problems: string[]): number | undefined {
  if (typeof value !== "string") return undefined;
  if (!/^[0-9]+$/.test(value)) {
    problems.push(`--limit: expected a whole number, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return Number(value);
}
