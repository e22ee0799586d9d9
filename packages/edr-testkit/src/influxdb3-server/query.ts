import { json, type Reply } from "./reply.js";
import type { Storage } from "./storage.js";

/** Answers `/api/v3/query_sql` (filled in by the SQL work). */
export function handleQuery(
  _storage: Storage,
  _method: string,
  _query: URLSearchParams,
  _headers: Record<string, string | string[] | undefined>,
  _body: Buffer,
): Reply {
  return json(400, { error: "query_sql is not supported yet" });
}
