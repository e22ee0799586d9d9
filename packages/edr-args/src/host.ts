import { isIPv4, isIPv6 } from "node:net";
import { DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT } from "./config.js";
import type { IssueList } from "./errors.js";

/** A `host` argument taken apart. */
export interface HostParts {
  /** `http` unless the host said `https://`. */
  protocol: "http" | "https";
  /** Lower-cased host name, IPv4 address, or IPv6 address in brackets. */
  hostname: string;
  /** The port written in `host`, if one was. */
  port?: number;
  /** A path prefix (`/influx`), without trailing slash; `""` when none. */
  path: string;
}

const HOST_EXAMPLE = "http://127.0.0.1, 12.4.0.1, https://12.4.0.1:8181 or [::1]";

/**
 * Reads the seed's `host` forms: `http://127.0.0.1`, `12.4.0.1`, `https://12.4.0.1:8181`, `example.com:8181`,
 * IPv6 in brackets (`[::1]`, `https://[::1]:8181`) or bare (`::1`, no port possible then), surrounding quotes
 * removed, a path prefix kept. No scheme means `http`, as in the seed. Problems are added to `issues`.
 */
export function readHost(argument: string, raw: string, issues: IssueList): HostParts | undefined {
  const text = stripQuotes(raw.trim());
  if (text === "") {
    issues.add(argument, `a host (${HOST_EXAMPLE})`, raw);
    return undefined;
  }
  let protocol: "http" | "https" = "http";
  let rest = text;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme !== null) {
    const name = (scheme[1] ?? "").toLowerCase();
    if (name !== "http" && name !== "https") {
      issues.add(argument, "the scheme http:// or https:// (or none, for http)", text);
      return undefined;
    }
    protocol = name;
    rest = text.slice(scheme[0].length);
  }
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? "" : rest.slice(authorityEnd);
  if (authority.includes("@")) {
    // user:password@host would put a credential in every log line that shows the URL; never echo it.
    issues.addNote(argument, "must not hold a user or password (use token)", "a host without user:password@");
    return undefined;
  }
  if (/[?#]/.test(tail)) {
    issues.add(argument, "a host without ?query or #fragment", text);
    return undefined;
  }
  const split = splitAuthority(authority);
  if (split === undefined) {
    issues.add(argument, `a host name or address with an optional :port (${HOST_EXAMPLE})`, text);
    return undefined;
  }
  const hostname = normaliseHostname(split.host);
  if (hostname === undefined) {
    issues.add(argument, `a valid host name, IPv4 address or [IPv6] address (${HOST_EXAMPLE})`, text);
    return undefined;
  }
  const parts: HostParts = { protocol, hostname, path: "" };
  if (split.port !== undefined) {
    const port = readPort(split.port);
    if (port === undefined) {
      issues.add(argument, "a port from 1 to 65535 after the host", text);
      return undefined;
    }
    parts.port = port;
  }
  const path = tail.replace(/\/+$/, "");
  if (path !== "") {
    try {
      parts.path = new URL(`http://h${path}`).pathname;
    } catch {
      issues.add(argument, "a valid path after the host", text);
      return undefined;
    }
  }
  return parts;
}

/**
 * The port rule: an explicit port in `host` wins, then `port_override`, then 443 for https and 8181
 * (InfluxDB 3's port) for http.
 */
export function resolvePort(parts: HostParts, portOverride?: number): number {
  return parts.port ?? portOverride ?? (parts.protocol === "https" ? DEFAULT_HTTPS_PORT : DEFAULT_HTTP_PORT);
}

/** The base URL for `parts` with the port rule applied: always an explicit port, no trailing slash. */
export function formatBaseUrl(parts: HostParts, port: number): string {
  return `${parts.protocol}://${parts.hostname}:${port}${parts.path}`;
}

/** Reads a port: digits only, 1..65535. */
export function readPort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

function splitAuthority(authority: string): { host: string; port?: string } | undefined {
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return undefined;
    const host = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after === "") return { host };
    return after.startsWith(":") ? { host, port: after.slice(1) } : undefined;
  }
  const colons = authority.split(":").length - 1;
  if (colons >= 2) return { host: `[${authority}]` }; // a bare IPv6 address: it cannot carry a port
  if (colons === 1) {
    const at = authority.indexOf(":");
    return { host: authority.slice(0, at), port: authority.slice(at + 1) };
  }
  return { host: authority };
}

function normaliseHostname(host: string): string | undefined {
  if (host.startsWith("[")) {
    const address = host.slice(1, -1);
    // Zone ids (fe80::1%eth0) cannot be written in a URL without escaping; refuse them plainly.
    if (address.includes("%") || !isIPv6(address)) return undefined;
    return new URL(`http://[${address}]`).hostname;
  }
  // WHATWG URLs let through much that no DNS name holds ("a(b", a trailing NUL): take letters, digits, "-", "_", ".".
  if (!/^[\p{L}\p{N}\p{M}._-]+$/u.test(host)) return undefined;
  // WHATWG URLs read "12.4" as 12.0.0.4 and "0x7f.1" as 127.0.0.1: anything that ends like a number must
  // be a plain dotted quad, so a typo is refused instead of silently reaching another address.
  const last = host.split(".").pop() ?? "";
  if (/^(\d+|0x[0-9a-f]*)$/i.test(last)) return isIPv4(host) ? host : undefined;
  try {
    const url = new URL(`http://${host}`);
    return url.hostname === "" ? undefined : url.hostname;
  } catch {
    return undefined;
  }
}

function stripQuotes(text: string): string {
  if (text.length >= 2) {
    const first = text[0];
    if ((first === '"' || first === "'") && text[text.length - 1] === first) return text.slice(1, -1).trim();
  }
  return text;
}
