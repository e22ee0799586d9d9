/**
 * edr-args: the trigger arguments (`k=v,k2=v2`) of the edr replicator, parsed once into a typed config and
 * checked completely, every problem reported in one error.
 */
export { parseTriggerArguments, splitTriggerArguments, SECRET_ARGUMENTS } from "./trigger-arguments.js";
export type { SplitArguments } from "./trigger-arguments.js";
export { parseScheduledConfig, parseWritesConfig } from "./parse-config.js";
export type { ParseConfigOptions } from "./parse-config.js";
export type { ArgsInput } from "./read-input.js";
export type { Environment } from "./remote-config.js";
export { parseDuration, formatDuration, DURATION_EXPECTED } from "./duration.js";
export { ArgsError } from "./errors.js";
export { redactConfig, REDACTED } from "./redact.js";
export type { ArgsIssue, ArgsErrorCode } from "./errors.js";
export { ARGUMENTS, argumentNames, formatArgumentsHelp } from "./arguments.js";
export type { ArgumentSpec, Mode } from "./arguments.js";
export { suggestName } from "./suggest.js";
export { RESERVED_FIELD_NAMES } from "./names.js";
export {
  AGGREGATE_FUNCTIONS,
  DEFAULT_AGGREGATE_GRACE_MS,
  WRITE_APIS,
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_LINES,
  DEFAULT_CATCH_UP,
  DEFAULT_HTTP_PORT,
  DEFAULT_HTTPS_PORT,
  DEFAULT_LOCAL_URL,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_SIZE_MB,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_WRITE_API,
  LOCAL_TOKEN_ENV,
  MAX_REQUEST_BYTES,
  PLUGIN_DIR_ENV,
  REMOTE_TOKEN_ENV,
} from "./config.js";
export type {
  AggregateFunction,
  AggregationRules,
  CommonConfig,
  DownsamplingConfig,
  LocalConfig,
  QueueConfig,
  RemoteConfig,
  ScheduledConfig,
  TransformConfig,
  WriteApi,
  WritesConfig,
} from "./config.js";
