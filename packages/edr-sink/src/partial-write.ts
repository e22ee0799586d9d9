/** Lines a v3 400/422 body names, by position in the request (0-based), with the server's reason. */
export interface PartialWriteErrors {
  /**
   * `partial`: the other lines of the request were stored (accept_partial).
   * `whole`: nothing was stored (a server that ignored accept_partial): the other lines must be sent again.
   */
  kind: "partial" | "whole";
  rejected: Map<number, string>;
}

interface LineError {
  error_message?: unknown;
  line_number?: unknown;
  original_line?: unknown;
}

/**
 * Reads an InfluxDB 3 write error body:
 * `{"error":"partial write of line protocol occurred","data":[{"error_message","line_number","original_line"}]}`
 * (`line_number` is 1-based over the non-blank, non-comment lines, which is every line we send), or the
 * single-entry `{"error":"line protocol parsing error","data":{…}}`. Returns undefined when the body is not
 * such a list, or when a listed line does not match what was sent (`original_line` is the line's first
 * bytes): the caller then finds the bad lines by bisecting rather than trusting a body it cannot map.
 */
export function parsePartialWrite(
  body: string | undefined,
  sent: readonly string[],
): PartialWriteErrors | undefined {
  if (body === undefined || body === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null) return undefined;
  const { error, data } = json as { error?: unknown; data?: unknown };
  let entries: LineError[];
  let kind: PartialWriteErrors["kind"];
  if (Array.isArray(data)) {
    entries = data as unknown[] as LineError[];
    kind = "partial";
  } else if (typeof data === "object" && data !== null) {
    entries = [data];
    kind = "whole";
  } else {
    return undefined;
  }
  if (entries.length === 0) return undefined;
  const rejected = new Map<number, string>();
  for (const entry of entries) {
    if (typeof entry !== "object" || entry === null) return undefined;
    const lineNumber = entry.line_number;
    if (typeof lineNumber !== "number" || !Number.isInteger(lineNumber)) return undefined;
    if (lineNumber < 1 || lineNumber > sent.length) return undefined;
    const original = entry.original_line;
    if (typeof original === "string" && !matchesStart(sent[lineNumber - 1]!, original)) return undefined;
    const message =
      typeof entry.error_message === "string"
        ? entry.error_message
        : typeof error === "string"
          ? error
          : "rejected";
    rejected.set(lineNumber - 1, message);
  }
  return { kind, rejected };
}

function matchesStart(line: string, original: string): boolean {
  if (original.length === 0 || line.startsWith(original)) return true;
  // The server cuts at a byte count: a multi-byte character cut in half decodes to U+FFFD.
  const cut = original.indexOf("\uFFFD");
  return cut >= 0 && line.startsWith(original.slice(0, cut));
}
