import type { IncomingMessage } from "node:http";

/** The body InfluxDB 3 sends with a 401. */
export const UNAUTHENTICATED_BODY = JSON.stringify({ error: "the request was not authenticated" });

/** Whether a request carries the token: "ok", "missing"/"invalid" (401) or "malformed" (400). */
export type AuthOutcome = "ok" | "unauthenticated" | "malformed";

/**
 * Checks `Authorization: Bearer|Token <t>` or `Basic base64(user:t)` (user ignored); v1 endpoints may pass
 * the token as `?p=`.
 */
export function checkAuth(
  req: IncomingMessage,
  query: URLSearchParams,
  token: string,
  v1: boolean,
): AuthOutcome {
  const header = req.headers.authorization;
  if (header === undefined) {
    return v1 && query.get("p") === token ? "ok" : "unauthenticated";
  }
  const match = /^(\S+) (\S+)$/.exec(header);
  if (match === null) return "malformed";
  const scheme = match[1]!;
  const credential = match[2]!;
  let presented: string;
  if (scheme === "Bearer" || scheme === "Token") {
    presented = credential;
  } else if (scheme === "Basic") {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credential)) return "malformed";
    const decoded = Buffer.from(credential, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return "malformed";
    presented = decoded.slice(colon + 1);
  } else {
    return "malformed";
  }
  return presented === token ? "ok" : "unauthenticated";
}
