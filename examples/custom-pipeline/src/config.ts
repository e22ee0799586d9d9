// The pipeline's settings: a JSON file, checked completely (every problem in one error), tokens from the
// environment so that the file holds no secret.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { AGGREGATE_FUNCTIONS, parseDuration, type AggregateFunction } from "edr-args";
import type { AggregationRules } from "edr-transform";

/** One remote: where to write, and the environment variable that holds its token. */
export interface RemoteSettings {
  /** Names its queue (`edr_queue_remote_<name>.jsonl.gz`) and its dead-letter file. */
  name: string;
  url: string;
  database: string;
  token: string | undefined;
  /** Retries of each request within one send; what is left stays queued. @default 3 */
  maxRetries: number | undefined;
}

/** The whole pipeline, as read from the file. */
export interface PipelineSettings {
  /** Tables whose name starts with this are kept; the others are left out. */
  prefix: string;
  /** Added to every point as the tag `site`. */
  site: string;
  /** Width of the downsampling buckets, ms. */
  intervalMs: number;
  aggregations: AggregationRules;
  /** Where the queues and dead letters live (relative paths are read from the file's directory). */
  queueDir: string;
  /** How long a run keeps trying to deliver before it leaves the rest queued for the next run, ms. */
  deliverTimeoutMs: number;
  remotes: RemoteSettings[];
}

const NAME = /^[a-z0-9_-]+$/;

/** Reads and checks a settings file; tokens come from the variables the file names (`tokenEnv`). */
export async function readSettings(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<PipelineSettings> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return checkSettings(raw, env, dirname(resolve(path)), path);
}

/** Checks settings already parsed from JSON; `baseDir` resolves a relative `queueDir`. */
export function checkSettings(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
  baseDir: string,
  source = "settings",
): PipelineSettings {
  const problems: string[] = [];
  const record = isRecord(raw) ? raw : {};
  if (!isRecord(raw)) problems.push(`expected an object, got ${JSON.stringify(raw)}`);
  const text = (key: string, fallback?: string): string => {
    const value = record[key] ?? fallback;
    if (typeof value === "string" && value !== "") return value;
    problems.push(`${key}: expected a non-empty string, got ${JSON.stringify(value)}`);
    return "";
  };
  const duration = (key: string, fallback: string): number => {
    const value = text(key, fallback);
    try {
      return value === "" ? 0 : parseDuration(value, key);
    } catch (error) {
      problems.push((error as Error).message.replace(/^\[edr-args\] /, ""));
      return 0;
    }
  };

  const settings: PipelineSettings = {
    prefix: text("prefix"),
    site: text("site"),
    intervalMs: duration("interval", "1min"),
    aggregations: readAggregations(record["aggregations"], problems),
    queueDir: resolve(baseDir, text("queueDir", "queues")),
    deliverTimeoutMs: duration("deliverTimeout", "30s"),
    remotes: [],
  };
  const remotes = record["remotes"];
  if (!Array.isArray(remotes) || remotes.length === 0) {
    problems.push(
      `remotes: expected a list of {name, url, database, tokenEnv}, got ${JSON.stringify(remotes)}`,
    );
  } else {
    remotes.forEach((remote: unknown, i) => {
      const r = isRecord(remote) ? remote : {};
      const at = `remotes[${i}]`;
      const field = (key: string): string => {
        const value = r[key];
        if (typeof value === "string" && value !== "") return value;
        problems.push(`${at}.${key}: expected a non-empty string, got ${JSON.stringify(value)}`);
        return "";
      };
      const name = field("name");
      if (name !== "" && !NAME.test(name)) problems.push(`${at}.name: expected [a-z0-9_-]+, got "${name}"`);
      if (settings.remotes.some((other) => other.name === name))
        problems.push(`${at}.name: "${name}" names two remotes`);
      const tokenEnv = r["tokenEnv"];
      if (tokenEnv !== undefined && (typeof tokenEnv !== "string" || env[tokenEnv] === undefined))
        problems.push(
          `${at}.tokenEnv: expected the name of a set environment variable, got ${JSON.stringify(tokenEnv)}`,
        );
      const maxRetries = r["maxRetries"];
      if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && (maxRetries as number) >= 0))
        problems.push(`${at}.maxRetries: expected an integer >= 0, got ${JSON.stringify(maxRetries)}`);
      settings.remotes.push({
        name,
        url: field("url"),
        database: field("database"),
        token: typeof tokenEnv === "string" ? env[tokenEnv] : undefined,
        maxRetries: maxRetries as number | undefined,
      });
    });
  }
  if (problems.length > 0) throw new Error(`${source}:\n  - ${problems.join("\n  - ")}`);
  return settings;
}

/** `{"default": "avg", "fields": {"table": {"field": "max"}}}` into edr-transform's rules. */
function readAggregations(raw: unknown, problems: string[]): AggregationRules {
  if (raw === undefined) return {};
  const isFunction = (value: unknown): value is AggregateFunction =>
    AGGREGATE_FUNCTIONS.includes(value as AggregateFunction);
  const expected = `one of ${AGGREGATE_FUNCTIONS.join(", ")}`;
  if (!isRecord(raw)) {
    problems.push(`aggregations: expected {"default": …, "fields": {…}}, got ${JSON.stringify(raw)}`);
    return {};
  }
  const rules: { default?: AggregateFunction; fields: Map<string, Map<string, AggregateFunction>> } = {
    fields: new Map(),
  };
  if (raw["default"] !== undefined) {
    if (isFunction(raw["default"])) rules.default = raw["default"];
    else problems.push(`aggregations.default: expected ${expected}, got ${JSON.stringify(raw["default"])}`);
  }
  const fields = raw["fields"] ?? {};
  for (const [table, perField] of Object.entries(isRecord(fields) ? fields : {})) {
    const map = new Map<string, AggregateFunction>();
    for (const [field, fn] of Object.entries(isRecord(perField) ? perField : {})) {
      if (isFunction(fn)) map.set(field, fn);
      else
        problems.push(
          `aggregations.fields.${table}.${field}: expected ${expected}, got ${JSON.stringify(fn)}`,
        );
    }
    rules.fields.set(table, map);
  }
  return rules;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
