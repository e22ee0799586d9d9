import { handleQuery } from "./query.js";
import { json, text, type Reply } from "./reply.js";
import type { Storage } from "./storage.js";
import { commitWrite, prepareWrite, type WriteApi } from "./write.js";
import { checkWrite } from "./write-check.js";

/** The kind of a request, as fault switches see it. */
export type RequestKind = "write" | "query" | "other";

const WRITE_PATHS: Record<string, WriteApi> = {
  "/api/v3/write_lp": "v3",
  "/api/v2/write": "v2",
  "/write": "v1",
};

/** What a route needs from the server. */
export interface RouteContext {
  storage: Storage;
  writeDelayMs: number;
  version: string;
  sleep(ms: number): Promise<void>;
}

/** Classifies a path for fault switches and auth (v1 paths take `?p=`). */
export function classify(path: string): { kind: RequestKind; v1: boolean } {
  if (path in WRITE_PATHS) return { kind: "write", v1: path === "/write" };
  if (path === "/api/v3/query_sql") return { kind: "query", v1: false };
  return { kind: "other", v1: false };
}

/** Answers one authenticated request whose body has been read and decoded. */
export async function route(
  ctx: RouteContext,
  method: string,
  path: string,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): Promise<Reply> {
  const api = WRITE_PATHS[path];
  if (api !== undefined) {
    if (method !== "POST") return methodNotAllowed(method, path);
    const prepared = prepareWrite(api, query, body);
    if ("reply" in prepared) return prepared.reply;
    // Lines without a timestamp get the time the request arrived, not the time it was flushed.
    const arrivedNs = BigInt(Date.now()) * 1_000_000n;
    // Core answers a write once the WAL is persisted (no_sync: before), so the data lands with the answer.
    if (ctx.writeDelayMs > 0 && !prepared.noSync) {
      // Parse and check now, while waiting, rather than after: with several writes in flight, checking
      // after the delay would hold back the answers behind each other. commitWrite redoes the check if
      // the schema changed meanwhile, so the answer is the same.
      const checked = checkWrite(ctx.storage, prepared);
      await ctx.sleep(ctx.writeDelayMs);
      return commitWrite(ctx.storage, prepared, arrivedNs, checked);
    }
    return commitWrite(ctx.storage, prepared, arrivedNs);
  }
  switch (path) {
    case "/api/v3/query_sql":
      if (method !== "GET" && method !== "POST") return methodNotAllowed(method, path);
      return handleQuery(ctx.storage, method, query, headers, body);
    case "/health":
      if (method !== "GET") return methodNotAllowed(method, path);
      return text(200, "OK");
    case "/ping":
      if (method !== "GET" && method !== "POST") return methodNotAllowed(method, path);
      return json(200, { version: ctx.version, revision: "edr-testkit" });
    case "/api/v3/configure/database":
      if (method !== "POST") return methodNotAllowed(method, path);
      return createDatabase(ctx.storage, headers, body);
    default:
      return json(404, { error: `not found: ${method} ${path}` });
  }
}

function methodNotAllowed(method: string, path: string): Reply {
  return json(405, { error: `method ${method} not allowed on ${path}` });
}

const DB_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

function createDatabase(
  storage: Storage,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): Reply {
  const contentType = String(headers["content-type"] ?? "");
  if (!contentType.startsWith("application/json")) {
    return json(400, { error: `expected Content-Type: application/json, got "${contentType}"` });
  }
  let db: unknown;
  try {
    db = (JSON.parse(body.toString("utf8")) as { db?: unknown }).db;
  } catch {
    return json(400, { error: 'expected a JSON body {"db":"name"}' });
  }
  if (typeof db !== "string" || !DB_NAME_RE.test(db)) {
    return json(400, { error: `invalid database name ${JSON.stringify(db)}` });
  }
  const limit = storage.databaseLimitError(db);
  if (limit !== undefined) return json(422, { error: limit });
  if (!storage.createDatabase(db))
    return json(409, { error: `attempted to create a resource that already exists: database "${db}"` });
  return { status: 200, headers: {}, body: "" };
}
