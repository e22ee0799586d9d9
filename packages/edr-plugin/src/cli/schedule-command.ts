import { statusRoutes } from "../http/routes.js";
import { startStatusServer, type StatusServer } from "../http/status-server.js";
import { parseAddress, type Address } from "./address.js";
import type { ARGUMENT_FLAGS } from "./config.js";
import { buildConfig, namesLocalDatabase } from "./config.js";
import type { FlagSpec } from "./flags.js";
import { describeQueue, say, signalPlan, type CommandContext } from "./command.js";
import { EXIT_FAILURE, EXIT_OK } from "./io.js";
import { createReplicator } from "../replicator.js";
import { runSchedule } from "../scheduler.js";
import { parseTriggerSpec, type TriggerSpec } from "../trigger-spec.js";
import { PluginError } from "../errors.js";
import type { CallReport } from "../replicator-types.js";

/** Where `edr schedule` serves `/status` and `/metrics` by default (`edr listen` serves them on 8182). */
const DEFAULT_STATUS_ADDRESS = "127.0.0.1:8183";

/** The flags that say where the local instance and the queue are, shared by the commands that replicate. */
export const LOCAL_FLAGS: Readonly<Record<keyof typeof ARGUMENT_FLAGS | "local-api", FlagSpec>> = {
  "local-url": {
    type: "string",
    value: "URL",
    description: "the local InfluxDB (argument local_host; default http://127.0.0.1:8181)",
  },
  "local-db": {
    type: "string",
    value: "DB",
    description: "the local database to read (argument local_database)",
  },
  "local-token": {
    type: "string",
    value: "TOKEN",
    description:
      "token of the local instance (argument local_token; or set EDR_LOCAL_TOKEN, which keeps it out of `ps`)",
  },
  "local-api": {
    type: "string",
    value: "sql|influxql",
    description:
      "how to read the local instance (default sql: /api/v3/query_sql; influxql: the v1 /query, also InfluxDB 1.x)",
  },
  "queue-dir": {
    type: "string",
    value: "DIR",
    description:
      "directory of the queue, dead letters and watermarks (argument queue_dir; default $PLUGIN_DIR, else ~/.plugins)",
  },
};

export const SCHEDULE_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "trigger-spec": {
    type: "string",
    value: "SPEC",
    description:
      "when to run: every:<duration> (every:10s, ticks on multiples since the epoch) or cron:<six fields, seconds first>",
  },
  "trigger-arguments": {
    type: "string",
    value: "ARGS",
    description: "the Python plugin's trigger arguments, k=v,k2=v2 (see below)",
  },
  ...LOCAL_FLAGS,
  once: {
    type: "boolean",
    description: "run once, for the window ending now (or at --call-time), then exit",
  },
  "call-time": {
    type: "string",
    value: "ISO8601",
    description: "with --once: the scheduled time of that run (2026-01-01T00:10:00Z)",
  },
  timezone: {
    type: "string",
    value: "ZONE",
    description: "the zone cron fields are read in (an IANA name such as UTC; default the system's)",
  },
  "status-address": {
    type: "string",
    value: "HOST:PORT",
    description: "where /status and /metrics are served (default 127.0.0.1:8183; none: not served)",
  },
  verbose: { type: "boolean", description: "also log each retry and request (debug lines)" },
};

/** `edr schedule`: scheduled replication, as `influxdb3 create trigger --trigger-spec every:…` did it. */
export async function scheduleCommand(context: CommandContext): Promise<number> {
  const { flags, io } = context;
  const problems = context.problems;
  const specText = flags["trigger-spec"];
  const once = flags["once"] === true;
  if (typeof specText !== "string" && !once)
    problems.push("--trigger-spec: required (every:10s, or cron:0 */5 * * * *), unless --once");
  if (flags["call-time"] !== undefined && !once) problems.push("--call-time: only with --once");
  const localApi = readLocalApi(flags["local-api"], problems);
  const callTime = readCallTime(flags["call-time"], problems);
  const statusAddress = readStatusAddress(flags["status-address"], once, problems);
  let spec: TriggerSpec | undefined;
  try {
    if (typeof specText === "string") {
      const timezone = flags["timezone"];
      spec = parseTriggerSpec(specText, typeof timezone === "string" ? { timezone } : {});
    }
  } catch (error) {
    if (!(error instanceof PluginError)) throw error;
    problems.push(error.message.replace(/^\[edr-plugin\] /, ""));
  }
  const config = context.config(() =>
    buildConfig("scheduled", str(flags["trigger-arguments"]), flags, io.env),
  );
  const namesDatabase =
    config !== undefined
      ? config.local.database !== undefined
      : namesLocalDatabase(str(flags["trigger-arguments"]), flags);
  if (!namesDatabase)
    problems.push("--local-db: required, the local database to copy from (or local_database=)");
  if (problems.length > 0 || config === undefined) return context.usageError();

  const replicator = await createReplicator(config, { logger: context.logger, localApi });
  const signals = signalPlan(io, "the current run");
  let statusServer: StatusServer | undefined;
  try {
    say(
      io,
      `edr schedule: ${describeQueue(config)}; ${replicator.status().queue.entries} lines queued at start`,
    );
    if (once) {
      const report = await replicator.processScheduledCall(
        callTime ?? new Date(Math.floor(Date.now() / 1000) * 1000),
      );
      io.stdout(formatCallSummary(report) + "\n");
      return report.errors.length === 0 ? EXIT_OK : EXIT_FAILURE;
    }
    if (spec === undefined) throw new Error("edr schedule: internal: no trigger spec without a problem");
    if (statusAddress !== undefined) {
      statusServer = await startStatusServer({ ...statusAddress, routes: statusRoutes(replicator) });
      say(io, `edr schedule: status at ${statusServer.url}/status, metrics at ${statusServer.url}/metrics`);
    }
    say(io, `edr schedule: running ${spec.text}; Ctrl-C (or SIGTERM) finishes the current run and exits`);
    // The drain loop sends what an earlier process left now, not at the first tick (which may be an hour
    // away), and keeps sending between runs while the remote recovers.
    replicator.start();
    await runSchedule(
      spec,
      async (time) => {
        await replicator.processScheduledCall(time);
      },
      {
        signal: signals.signal,
        onError: (error) => context.logger.error(`scheduled run failed: ${errorText(error)}`),
        onTickSkipped: (skipped, time) =>
          context.logger.warn(
            `${skipped} tick${skipped === 1 ? "" : "s"} passed without a run of their own (a run outlasted them); ` +
              `the run for ${time.toISOString()} and the watermarks cover their windows`,
          ),
      },
    );
    return EXIT_OK;
  } finally {
    await statusServer?.close();
    await replicator.close();
    signals.dispose();
  }
}

/** `--status-address`: default 127.0.0.1:8183 for a long run, none for `--once`; `none` turns it off. */
function readStatusAddress(
  value: string | boolean | undefined,
  once: boolean,
  problems: string[],
): Address | undefined {
  if (value === "none" || (value === undefined && once)) return undefined;
  const address = parseAddress(typeof value === "string" ? value : DEFAULT_STATUS_ADDRESS);
  if (typeof address === "string") {
    problems.push(`--status-address: ${address}, or none`);
    return undefined;
  }
  return address;
}

function readLocalApi(
  value: string | boolean | undefined,
  problems: string[],
): "sql" | "influxql" | undefined {
  if (value === undefined) return undefined;
  if (value === "sql" || value === "influxql") return value;
  problems.push(`--local-api: expected sql or influxql, got ${JSON.stringify(value)}`);
  return undefined;
}

function readCallTime(value: string | boolean | undefined, problems: string[]): Date | undefined {
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    problems.push(
      `--call-time: expected an ISO 8601 time such as 2026-01-01T00:10:00Z, got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  return new Date(ms);
}

/** One line a person (or a script with `cut`) reads after `--once`. */
export function formatCallSummary(report: CallReport): string {
  const parts = [
    `queued ${report.queued}`,
    `replicated ${report.replicated}`,
    `dead-lettered ${report.deadLettered}`,
    `refused ${report.refused}`,
    `still queued ${report.queuedAfter}`,
  ];
  const outcome = report.errors.length === 0 ? "ok" : `failed: ${report.errors.join("; ")}`;
  return `${parts.join(", ")}: ${outcome}`;
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
