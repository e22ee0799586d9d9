import type { LocalConfig, RemoteConfig } from "./config.js";
import {
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_LINES,
  DEFAULT_LOCAL_URL,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_WRITE_API,
  LOCAL_TOKEN_ENV,
  MAX_REQUEST_BYTES,
  REMOTE_TOKEN_ENV,
  WRITE_APIS,
} from "./config.js";
import { readDuration } from "./duration.js";
import { formatBaseUrl, readHost, readPort, resolvePort } from "./host.js";
import type { ArgumentValues } from "./read-input.js";
import type { PathContext } from "./scalars.js";
import { readBoolean, readChoice, readInteger, readSize, resolvePath } from "./scalars.js";

/** Control characters, which no database name needs and which would garble logs. */
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The environment the parsers read tokens and `PLUGIN_DIR` from. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Reads the remote settings; returns undefined when any of them has a problem (already in `values.issues`). */
export function readRemote(
  values: ArgumentValues,
  env: Environment,
  paths: PathContext,
): RemoteConfig | undefined {
  const { get, has, issues } = values;
  const before = issues.size;

  const hostText = get("host");
  if (!has("host")) issues.addNote("host", "is required (e.g. host=https://12.4.0.1:8181)", "a host");
  const host = hostText === undefined ? undefined : readHost("host", hostText, issues);

  const token = get("token") ?? nonEmpty(env[REMOTE_TOKEN_ENV]);
  if (token === undefined && !has("token")) {
    issues.addNote("token", `is required (or set the environment variable ${REMOTE_TOKEN_ENV})`, "a token");
  } else if (token !== undefined) {
    issues.addSecret(token);
  }

  let database = get("database");
  if (!has("database")) {
    issues.addNote("database", "is required (the remote database name)", "a database name");
  } else if (database !== undefined && CONTROL.test(database)) {
    issues.add("database", "a database name without control characters", database);
    database = undefined;
  }

  const portText = get("port_override");
  let portOverride: number | undefined;
  if (portText !== undefined) {
    portOverride = readPort(portText);
    if (portOverride === undefined) issues.add("port_override", "an integer from 1 to 65535", portText);
  }

  const verifySsl = optional(get("verify_ssl"), true, (v) => readBoolean("verify_ssl", v, issues));
  const writeApi = optional(get("write_api"), DEFAULT_WRITE_API, (v) =>
    readChoice("write_api", v, WRITE_APIS, issues),
  );
  const maxRetries = optional(get("max_retries"), DEFAULT_MAX_RETRIES, (v) =>
    readInteger("max_retries", v, issues, 0),
  );
  const batchLines = optional(get("batch_lines"), DEFAULT_BATCH_LINES, (v) =>
    readInteger("batch_lines", v, issues, 1),
  );
  const batchBytes = optional(get("batch_bytes"), DEFAULT_BATCH_BYTES, (v) =>
    readSize("batch_bytes", v, issues, 1, MAX_REQUEST_BYTES),
  );
  const maxInFlight = optional(get("max_in_flight"), DEFAULT_MAX_IN_FLIGHT, (v) =>
    readInteger("max_in_flight", v, issues, 1, 64),
  );
  const timeoutMs = optional(get("timeout"), DEFAULT_TIMEOUT_MS, (v) => {
    const result = readDuration(v);
    if (!result.ok) issues.add("timeout", result.expected, v);
    return result.ok ? result.ms : undefined;
  });

  const caText = get("ca_file");
  const caFile = caText === undefined ? undefined : resolvePath(caText, paths);
  if (caFile !== undefined && host !== undefined && host.protocol === "http") {
    issues.addNote(
      "ca_file",
      "is given but host uses http, so no certificate is ever checked (write https:// in host)",
      "an https host",
    );
  }

  if (
    issues.size > before ||
    host === undefined ||
    token === undefined ||
    database === undefined ||
    verifySsl === undefined ||
    writeApi === undefined ||
    maxRetries === undefined ||
    batchLines === undefined ||
    batchBytes === undefined ||
    maxInFlight === undefined ||
    timeoutMs === undefined
  ) {
    return undefined;
  }
  const port = resolvePort(host, portOverride);
  const remote: RemoteConfig = {
    url: formatBaseUrl(host, port),
    protocol: host.protocol,
    hostname: host.hostname,
    port,
    token,
    database,
    writeApi,
    verifySsl,
    maxRetries,
    batchLines,
    batchBytes,
    maxInFlight,
    timeoutMs,
  };
  if (portOverride !== undefined) remote.portOverride = portOverride;
  if (caFile !== undefined) remote.caFile = caFile;
  return remote;
}

/** Reads the local (source) instance's settings. */
export function readLocal(values: ArgumentValues, env: Environment): LocalConfig | undefined {
  const { get, issues } = values;
  const hostText = get("local_host");
  let url = DEFAULT_LOCAL_URL;
  if (hostText !== undefined) {
    const host = readHost("local_host", hostText, issues);
    if (host === undefined) return undefined;
    url = formatBaseUrl(host, resolvePort(host));
  }
  const local: LocalConfig = { url };
  const database = get("local_database");
  if (database !== undefined && CONTROL.test(database)) {
    issues.add("local_database", "a database name without control characters", database);
    return undefined;
  }
  if (database !== undefined) local.database = database;
  const token = get("local_token") ?? nonEmpty(env[LOCAL_TOKEN_ENV]);
  if (token !== undefined) {
    issues.addSecret(token);
    local.token = token;
  }
  return local;
}

/** Applies `read` to a given value, or returns the default when the argument is absent. */
export function optional<T>(
  value: string | undefined,
  fallback: T,
  read: (value: string) => T | undefined,
): T | undefined {
  return value === undefined ? fallback : read(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
