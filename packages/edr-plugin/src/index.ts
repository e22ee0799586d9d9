/**
 * edr-plugin: the edr replicator. Composes edr-args, edr-transform, edr-queue and edr-sink into scheduled and
 * on-write replication, run by the `edr` command or embedded in a program of your own.
 */
/** The replicator: the engine's entry points, a drain, a status. */
export { createReplicator } from "./replicator.js";
export type {
  CallReport,
  DrainReport,
  Replicator,
  ReplicatorOptions,
  ReplicatorState,
  ReplicatorStatus,
  TableBatch,
} from "./replicator-types.js";
/** Reading the local instance: SQL over /api/v3/query_sql, InfluxQL over the v1 /query. */
export { createSqlReader } from "./readers/sql-reader.js";
export { createInfluxQLReader } from "./readers/influxql-reader.js";
export type { LocalApi, LocalReader, LocalSource } from "./readers/local-reader.js";
/** On write: `edr listen`'s write-through endpoint, and what it hands the lines to. */
export { createListenServer, type ListenServer } from "./listen/listen-server.js";
export type { ListenServerOptions, RouteHandler } from "./listen/listen-options.js";
export type { IntakeLine, WriteIntake } from "./listen/write-intake.js";
/** `/status`, `/metrics` and the table-batches endpoint, for a server of your own. */
export { statusRoutes, tableBatchesRoute, TABLE_BATCHES_PATH } from "./http/routes.js";
/** Scheduling: the engine's trigger specs, and the loop that runs a replication on them. */
export { parseTriggerSpec, nextTick, type TriggerSpec } from "./trigger-spec.js";
export { runSchedule, type ScheduleOptions } from "./scheduler.js";
/** Dead letters: the lines the remote refused for good, read without disturbing the replicator. */
export { readDeadLetters, summarizeDeadLetters, type DeadLetterSummary } from "./dead-letter-view.js";
export type { DeadLetter } from "./dead-letters.js";
export type { ReplayOptions, ReplayResult } from "./dead-letter-replay.js";
/** Watermarks of scheduled replication, read-only. */
export { readWatermarks } from "./watermarks.js";
/** The `edr` command line, to run in a process of your own: `process.exitCode = await runEdr(argv, processIo())`. */
export { runEdr } from "./cli/run.js";
export { processIo, type CliIo } from "./cli/io.js";
/** Logging and errors. */
export { consoleLogger, silentLogger, type ReplicatorLogger } from "./logger.js";
export { PluginError, type PluginErrorCode } from "./errors.js";
