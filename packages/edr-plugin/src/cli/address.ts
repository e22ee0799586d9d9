/** A host and port to listen on. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/**
 * Reads `HOST:PORT`, `:PORT` or `PORT` (host 127.0.0.1), `[::1]:PORT`; returns what was wrong as a string.
 * Port 0 picks a free one.
 */
export function parseAddress(text: string, defaultHost = "127.0.0.1"): Address | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*))?:?([0-9]{1,5})$/.exec(text.trim());
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    return `expected HOST:PORT such as 127.0.0.1:8182 (or :PORT), got ${JSON.stringify(text)}`;
  }
  const host = match[1] ?? (match[2] === undefined || match[2] === "" ? defaultHost : match[2]);
  return { host, port };
}
