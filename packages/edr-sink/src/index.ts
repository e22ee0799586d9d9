export { createSink } from "./sink.js";
export type { Sink } from "./sink.js";
export {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_LINES,
  DEFAULT_GZIP_LEVEL,
  DEFAULT_GZIP_THRESHOLD_BYTES,
  DEFAULT_HALT_PAUSE_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_WRITE_API,
  consoleSinkLogger,
} from "./options.js";
export type { AnswerEvent, SinkLogger, SinkOptions, SleepFn } from "./options.js";
export type {
  DeliveredOutcome,
  LineOutcome,
  NotDeliveredOutcome,
  RejectedOutcome,
  WriteResult,
} from "./outcome.js";
export { RETRY_AFTER_CAP_MS, decideRetry, parseRetryAfter } from "./retry-policy.js";
export type {
  RetryDecision,
  RetryInput,
  RetryPolicyOptions,
  TransportFailure,
  WriteApi,
} from "./retry-policy.js";
export { seriesKey } from "./series.js";
export { parsePartialWrite } from "./partial-write.js";
export type { PartialWriteErrors } from "./partial-write.js";
export { SinkError } from "./errors.js";
export type { SinkErrorCode } from "./errors.js";
export { redactToken, tokenForms } from "./redact.js";
