import type { IncomingMessage, ServerResponse } from "node:http";
import type { Row } from "edr-transform";
import { errorMessage } from "../call.js";
import type { RouteHandler } from "../listen/listen-options.js";
import { JsonScanner } from "../readers/json-scanner.js";
import type { Replicator, TableBatch } from "../replicator-types.js";
import { createMetricsRegistry } from "./metrics.js";

/** Where the engine-shaped batches are posted (the InfluxDB 3 bridge plugin of the examples does). */
export const TABLE_BATCHES_PATH = "/api/edr/v1/table_batches";
/** Largest table-batches body: one WAL flush of a busy database. */
const MAX_TABLE_BATCHES_BYTES = 64 * 1024 * 1024;

/** `GET /status` (JSON) and `GET /metrics` (Prometheus text) of a replicator. */
export function statusRoutes(replicator: Replicator): Map<string, RouteHandler> {
  const registry = createMetricsRegistry(() => replicator.status());
  return new Map<string, RouteHandler>([
    [
      "/status",
      async (req, res) => {
        if (!allowMethod(req, res, "GET")) return;
        send(res, 200, "application/json", `${JSON.stringify(replicator.status(), null, 2)}\n`);
      },
    ],
    [
      "/metrics",
      async (req, res) => {
        if (!allowMethod(req, res, "GET")) return;
        send(res, 200, registry.contentType, await registry.metrics());
      },
    ],
  ]);
}

/**
 * `POST /api/edr/v1/table_batches`: the engine's `table_batches` as JSON (`[{"table_name","rows":[…]}]`, rows as
 * `process_writes` gets them, `time` in ns), taken into the intake durably before the 204. Numbers are read
 * exactly (int64 above 2^53, `1.0` stays a float where the column is one). 400 with the reason for a body that
 * is not such JSON, 503 with `Retry-After` while the queue is full.
 */
export function tableBatchesRoute(replicator: Replicator): RouteHandler {
  const scanner = new JsonScanner();
  return async (req, res) => {
    if (!allowMethod(req, res, "POST")) return;
    const refusal = replicator.intake?.refusal();
    if (refusal !== undefined) {
      res.setHeader("retry-after", String(refusal.retryAfterSeconds));
      sendError(res, 503, refusal.reason);
      req.resume();
      return;
    }
    let batches: TableBatch[];
    try {
      batches = parseTableBatches(scanner, await readBody(req, MAX_TABLE_BATCHES_BYTES));
    } catch (error) {
      sendError(res, error instanceof BodyTooLarge ? 413 : 400, errorMessage(error));
      return;
    }
    try {
      const lines = await replicator.acceptTableBatches(batches);
      res.setHeader("x-edr-lines-accepted", String(lines));
      res.writeHead(204).end();
    } catch (error) {
      res.setHeader("retry-after", "5");
      sendError(res, 503, `the batches were not queued for the remote: ${errorMessage(error)}`);
    }
  };
}

/** Reads and checks the engine's table batches. */
export function parseTableBatches(scanner: JsonScanner, body: Buffer): TableBatch[] {
  let value: unknown;
  try {
    value = scanner.parse(body);
  } catch (error) {
    throw new Error(`the body is not JSON: ${errorMessage(error)}`);
  }
  const expected = 'expected [{"table_name": "<table>", "rows": [{"<column>": <value>, …, "time": <ns>}]}]';
  if (!Array.isArray(value)) throw new Error(`${expected}, got ${describe(value)}`);
  return value.map((batch: unknown, i): TableBatch => {
    const record = batch as Record<string, unknown> | null;
    const table = record?.["table_name"];
    const rows = record?.["rows"];
    if (typeof table !== "string" || table === "" || !Array.isArray(rows)) {
      throw new Error(`batch ${i}: ${expected}, got ${describe(batch)}`);
    }
    rows.forEach((row: unknown, j) => {
      if (typeof row !== "object" || row === null || Array.isArray(row))
        throw new Error(
          `batch ${i} (${table}), row ${j}: expected an object of columns, got ${describe(row)}`,
        );
    });
    return { table_name: table, rows: rows as Row[] };
  });
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new BodyTooLarge(`the body is larger than ${maxBytes} bytes: post one WAL flush at a time`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function allowMethod(req: IncomingMessage, res: ServerResponse, method: string): boolean {
  if (req.method === method || (method === "GET" && req.method === "HEAD")) return true;
  res.setHeader("allow", method);
  sendError(res, 405, `${req.method ?? "?"} is not allowed here; use ${method}`);
  req.resume();
  return false;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  send(res, status, "application/json", `${JSON.stringify({ error: message })}\n`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return typeof value;
}
