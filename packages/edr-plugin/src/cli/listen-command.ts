import { DURATION_EXPECTED, parseDuration } from "edr-args";
import { statusRoutes, TABLE_BATCHES_PATH, tableBatchesRoute } from "../http/routes.js";
import { createListenServer } from "../listen/listen-server.js";
import { DEFAULT_FLUSH_INTERVAL_MS, createReplicator } from "../replicator.js";
import { parseAddress, type Address } from "./address.js";
import { describeQueue, say, signalPlan, type CommandContext } from "./command.js";
import { buildConfig, namesLocalDatabase } from "./config.js";
import type { FlagSpec } from "./flags.js";
import { EXIT_OK } from "./io.js";

export const LISTEN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "trigger-arguments": {
    type: "string",
    value: "ARGS",
    description: "the Python plugin's on-write trigger arguments, k=v,k2=v2 (see below)",
  },
  "local-url": {
    type: "string",
    value: "URL",
    description:
      "the local InfluxDB that writes are forwarded to (argument local_host; default http://127.0.0.1:8181)",
  },
  "local-db": {
    type: "string",
    value: "DB",
    description:
      "the database whose writes are replicated (argument local_database); other databases pass through",
  },
  "local-token": {
    type: "string",
    value: "TOKEN",
    description:
      "token of the local instance, to read the columns of engine batches posted to /api/edr/v1/table_batches " +
      "(or set EDR_LOCAL_TOKEN); writes are forwarded with the client's own token",
  },
  "queue-dir": {
    type: "string",
    value: "DIR",
    description: "directory of the queues and dead letters (argument queue_dir)",
  },
  listen: { type: "string", value: "HOST:PORT", description: "where clients write (default 127.0.0.1:8182)" },
  "flush-interval": {
    type: "string",
    value: "DURATION",
    description: "how often written lines move on to the queue, as the engine's WAL flush (default 1s)",
  },
  verbose: { type: "boolean", description: "also log each retry and request (debug lines)" },
};

/** `edr listen`: a write-through endpoint in front of the local instance; what it stores is replicated. */
export async function listenCommand(context: CommandContext): Promise<number> {
  const { flags, io } = context;
  const problems = context.problems;
  const address = readAddress(flags["listen"], problems);
  const flushIntervalMs = readFlushInterval(flags["flush-interval"], problems);
  const text = typeof flags["trigger-arguments"] === "string" ? flags["trigger-arguments"] : undefined;
  if (text === undefined)
    problems.push("--trigger-arguments: required, the remote to replicate to (host=…,token=…,database=…)");
  const config = context.config(() => buildConfig("writes", text, flags, io.env));
  const database = config?.local.database;
  if (config !== undefined ? database === undefined : !namesLocalDatabase(text, flags))
    problems.push(
      "--local-db: required, the local database whose writes are replicated (or local_database=)",
    );
  if (problems.length > 0 || config === undefined || database === undefined || address === undefined)
    return context.usageError();

  const replicator = await createReplicator(config, { logger: context.logger });
  const signals = signalPlan(io, "the writes in flight");
  try {
    const routes = statusRoutes(replicator);
    routes.set(TABLE_BATCHES_PATH, tableBatchesRoute(replicator));
    const server = await createListenServer({
      localUrl: config.local.url,
      database,
      intake: replicator.intake!,
      host: address.host,
      port: address.port,
      routes,
      logger: context.logger,
    });
    replicator.start({ flushIntervalMs });
    say(
      io,
      `edr listen: ${server.url} in front of ${config.local.url}; writes to database ${database} are replicated`,
    );
    say(
      io,
      `edr listen: ${describeQueue(config)}; ${replicator.status().queue.entries} lines queued at start`,
    );
    say(
      io,
      `edr listen: point your clients at ${server.url}; status at ${server.url}/status, metrics at ${server.url}/metrics`,
    );
    await new Promise<void>((resolve) => {
      if (signals.signal.aborted) resolve();
      signals.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await server.close();
    return EXIT_OK;
  } finally {
    await replicator.close();
    signals.dispose();
  }
}

function readAddress(value: string | boolean | undefined, problems: string[]): Address | undefined {
  const address = parseAddress(typeof value === "string" ? value : "127.0.0.1:8182");
  if (typeof address === "string") {
    problems.push(`--listen: ${address}`);
    return undefined;
  }
  return address;
}

function readFlushInterval(value: string | boolean | undefined, problems: string[]): number {
  if (typeof value !== "string") return DEFAULT_FLUSH_INTERVAL_MS;
  try {
    return parseDuration(value, "--flush-interval");
  } catch {
    problems.push(`--flush-interval: expected ${DURATION_EXPECTED}, got ${JSON.stringify(value)}`);
    return DEFAULT_FLUSH_INTERVAL_MS;
  }
}
