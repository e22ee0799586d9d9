import { readdir } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { PLUGIN_DIR_ENV, splitTriggerArguments } from "edr-args";
import { inspectQueue, type QueueInspection } from "edr-queue";
import { summarizeDeadLetters, type DeadLetterSummary } from "../dead-letter-view.js";
import { createReplicator } from "../replicator.js";
import { formatNs } from "../windows.js";
import { readWatermarks } from "../watermarks.js";
import { say, signalPlan, type CommandContext } from "./command.js";
import { buildConfig } from "./config.js";
import type { FlagSpec } from "./flags.js";
import { formatAge, formatBytes, formatCount, formatCounts, formatRows } from "./format.js";
import { EXIT_FAILURE, EXIT_OK } from "./io.js";

const QUEUE_NAME = /^[A-Za-z0-9_-]+$/;

export const INSPECT_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "queue-dir": {
    type: "string",
    value: "DIR",
    description: "the queue directory (default $PLUGIN_DIR, else ~/.plugins)",
  },
  queue: {
    type: "string",
    value: "NAME",
    description: "one queue (schedule, writes, schedule_<suffix>…); default every queue in the directory",
  },
  "trigger-arguments": {
    type: "string",
    value: "ARGS",
    description: "take queue_dir from these arguments (the ones edr schedule runs with)",
  },
  json: { type: "boolean", description: "print JSON instead of a table" },
  "no-per-table": {
    type: "boolean",
    description: "skip counting queued lines per table (reads every queued line)",
  },
};

export const DRAIN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "trigger-arguments": {
    type: "string",
    value: "ARGS",
    description: "the remote to send to (host, token, database…), as for edr schedule",
  },
  "queue-dir": { type: "string", value: "DIR", description: "the queue directory (argument queue_dir)" },
  queue: {
    type: "string",
    value: "NAME",
    description: "which queue: schedule (when the arguments hold window=), writes, or a name with a suffix",
  },
  verbose: { type: "boolean", description: "also log each retry and request (debug lines)" },
};

/** What `edr queue inspect` reports of one queue. */
export interface QueueReport {
  readonly queue: QueueInspection;
  readonly deadLetters: DeadLetterSummary;
  /** Per table, the ISO time scheduled replication reached; or what is wrong with the file. */
  readonly watermarks: Readonly<Record<string, string>> | string;
}

/** `edr queue inspect`: what a queue holds, read-only, while another edr owns it or not. */
export async function inspectCommand(context: CommandContext): Promise<number> {
  const { flags, io } = context;
  const problems = context.problems;
  const dir = queueDir(flags, io.env, problems);
  const name = queueFlag(flags, problems);
  if (problems.length > 0 || dir === undefined) return context.usageError();
  const names = name === undefined ? await queueNames(dir) : [name];
  const reports: QueueReport[] = [];
  for (const queueName of names) {
    // A received log's entries are whole writes (their particulars where a table would be): no tables to count.
    const perTable = flags["no-per-table"] !== true && !isReceivedLog(queueName);
    const queue = await inspectQueue({ dir, name: queueName, perTable });
    const deadLetters = await summarizeDeadLetters(dir, queueName);
    const marks = await readWatermarks(dir, queueName);
    const watermarks =
      typeof marks === "string"
        ? `unreadable: ${marks}`
        : Object.fromEntries([...marks].map(([table, ns]) => [table, formatNs(ns)]));
    reports.push({ queue, deadLetters, watermarks });
  }
  if (flags["json"] === true) {
    io.stdout(JSON.stringify({ dir, queues: reports }, null, 2) + "\n");
  } else if (reports.length === 0) {
    io.stdout(`no queue in ${dir}\n`);
  } else {
    io.stdout(reports.map(formatQueueReport).join("\n\n") + "\n");
  }
  return EXIT_OK;
}

/** One queue as a short table a person reads at a glance. */
export function formatQueueReport(report: QueueReport): string {
  const { queue, deadLetters, watermarks } = report;
  const rows: [string, string][] = [];
  rows.push([
    "owner",
    queue.lock === undefined
      ? "none (no edr has it open)"
      : `pid ${queue.lock.pid ?? "?"}${queue.lock.alive ? "" : " (not running: the next start takes the queue over)"}`,
  ]);
  const age = queue.oldestAgeMs === undefined ? "" : `, oldest ${formatAge(queue.oldestAgeMs)} old`;
  rows.push(
    isReceivedLog(queue.name)
      ? [
          "received",
          `${formatCount(queue.entries)} writes not yet queued, ${formatBytes(queue.bytes)} on disk${age}`,
        ]
      : ["queued", `${formatCount(queue.entries)} lines, ${formatBytes(queue.bytes)} on disk${age}`],
  );
  if (queue.perTable !== undefined) rows.push(["per table", formatCounts(queue.perTable)]);
  rows.push([
    "lifetime",
    `${formatCount(queue.appended)} appended, ${formatCount(queue.acknowledged)} sent, ${formatCount(queue.dropped)} dropped`,
  ]);
  if (queue.pendingTailBytes > 0)
    rows.push(["writing", `${formatBytes(queue.pendingTailBytes)} being appended now`]);
  if (queue.quarantine.fileBytes > 0 || queue.unreadableBytes > 0 || queue.corruptMembers > 0) {
    rows.push([
      "quarantine",
      `${formatBytes(queue.quarantine.fileBytes)} moved aside (${queue.quarantine.events} times)` +
        (queue.unreadableBytes > 0 ? `, ${formatBytes(queue.unreadableBytes)} unreadable awaiting it` : "") +
        (queue.corruptMembers > 0 ? `, ${queue.corruptMembers} corrupt appends awaiting it` : ""),
    ]);
  }
  rows.push([
    "dead letters",
    deadLetters.letters === 0
      ? "none"
      : `${formatCount(deadLetters.letters)} (by status: ${formatCounts(deadLetters.byStatus)}; by table: ${formatCounts(deadLetters.byTable, 4)}), newest ${deadLetters.newest}`,
  ]);
  if (typeof watermarks === "string") rows.push(["watermarks", watermarks]);
  else if (Object.keys(watermarks).length > 0)
    rows.push([
      "watermarks",
      Object.entries(watermarks)
        .map(([t, time]) => `${t} ${time}`)
        .join(", "),
    ]);
  return `queue ${queue.name} (${queue.dir})\n${formatRows(rows)}`;
}

/** `edr queue drain`: sends everything queued; 0 when the queue is empty, 1 when lines are left. */
export async function drainCommand(context: CommandContext): Promise<number> {
  const { flags, io } = context;
  const problems = context.problems;
  const text = typeof flags["trigger-arguments"] === "string" ? flags["trigger-arguments"] : undefined;
  if (text === undefined)
    problems.push("--trigger-arguments: required, the remote to send to (host=…,token=…,database=…)");
  const name = queueFlag(flags, problems);
  const scheduled = text !== undefined && "window" in splitTriggerArguments(text).args;
  const config = context.config(() =>
    scheduled ? buildConfig("scheduled", text, flags, io.env) : buildConfig("writes", text, flags, io.env),
  );
  if (problems.length > 0 || config === undefined) return context.usageError();
  const queue =
    name === undefined ? config.queue : { ...config.queue, name, fileName: `edr_queue_${name}.jsonl.gz` };
  const replicator = await createReplicator({ ...config, queue }, { logger: context.logger });
  const signals = signalPlan(io, "the requests in flight");
  try {
    const before = replicator.status().queue.entries;
    say(
      io,
      `edr queue drain: ${formatCount(before)} lines queued in ${queue.dir}/${queue.fileName}, sending to ${config.remote.url} database ${config.remote.database}`,
    );
    const report = await replicator.drain({ signal: signals.signal });
    const line =
      `delivered ${formatCount(report.delivered)}, dead-lettered ${formatCount(report.deadLettered)}, ` +
      `${formatCount(report.remaining)} left`;
    if (report.remaining === 0) {
      io.stdout(`${line}: the queue is empty\n`);
      return EXIT_OK;
    }
    io.stdout(`${line}: ${report.stalled ?? (signals.signal.aborted ? "interrupted" : "not all sent")}\n`);
    return EXIT_FAILURE;
  } finally {
    await replicator.close();
    signals.dispose();
  }
}

/** The directory: --queue-dir, else queue_dir of --trigger-arguments, else PLUGIN_DIR, else ~/.plugins. */
export function queueDir(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): string | undefined {
  const text = flags["trigger-arguments"];
  const fromArgs = typeof text === "string" ? splitTriggerArguments(text).args["queue_dir"] : undefined;
  const flag = flags["queue-dir"];
  if (typeof flag === "string" && fromArgs !== undefined) {
    problems.push("queue_dir: given both in --trigger-arguments and as --queue-dir; keep one");
    return undefined;
  }
  const chosen = (typeof flag === "string" ? flag : fromArgs) ?? (env[PLUGIN_DIR_ENV] || "~/.plugins");
  return resolve(chosen === "~" || chosen.startsWith("~/") ? homedir() + chosen.slice(1) : chosen);
}

function queueFlag(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  problems: string[],
): string | undefined {
  const name = flags["queue"];
  if (typeof name !== "string") return undefined;
  if (!QUEUE_NAME.test(name)) {
    problems.push(
      `--queue: expected a queue name (letters, digits, _ and -: schedule, writes, schedule_site1), got ${JSON.stringify(name)}`,
    );
    return undefined;
  }
  return name;
}

/** Every queue in a directory, from its head or cursor file, sorted. */
/** `edr listen`'s log of writes as received (`<queue>_received`), moved on to its queue by the flushes. */
function isReceivedLog(name: string): boolean {
  return name.endsWith("_received");
}

async function queueNames(dir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const names = new Set<string>();
  for (const file of files) {
    const match = /^edr_queue_([A-Za-z0-9_-]+)\.(?:jsonl\.gz|cursor)$/.exec(file);
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}
