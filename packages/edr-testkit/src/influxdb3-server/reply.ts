/** A response the router sends. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A JSON reply. */
export function json(status: number, value: unknown): Reply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(value) };
}

/** A plain-text reply. */
export function text(status: number, body: string): Reply {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body };
}

/** 204 with no body: a successful write. */
export const NO_CONTENT: Reply = { status: 204, headers: {}, body: "" };
