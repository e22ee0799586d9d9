import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { PluginError } from "../errors.js";
import type { RouteHandler } from "../listen/listen-options.js";

/** A small HTTP server for `/status` and `/metrics` (edr schedule has no write endpoint to serve them on). */
export interface StatusServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0: a free one) and answers the exact paths of `routes`, 404 elsewhere. */
export async function startStatusServer(options: {
  host: string;
  port: number;
  routes: ReadonlyMap<string, RouteHandler>;
}): Promise<StatusServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = options.routes.get(path);
    if (route === undefined) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(`${JSON.stringify({ error: `not found: ${path}; try /status or /metrics` })}\n`);
      return;
    }
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new PluginError(
          "INVALID_ARGUMENT",
          `cannot listen on ${options.host}:${options.port}: ${error.message}`,
        ),
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    close() {
      closed ??= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
