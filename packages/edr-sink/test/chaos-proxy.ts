import * as http from "node:http";
import { gunzipSync } from "node:zlib";

/** A fault the proxy answers with instead of forwarding. */
export type ChaosFault = { status: number; retryAfter?: string } | "reset";

/** An HTTP proxy that answers a fraction of requests with a random fault, the rest from `upstream`. */
export interface ChaosProxy {
  url: string;
  faults: Map<string, number>;
  close(): Promise<void>;
}

const FAULTS: ChaosFault[] = [
  { status: 429, retryAfter: "0" },
  { status: 429 },
  { status: 500 },
  { status: 502 },
  { status: 503, retryAfter: "0" },
  { status: 504 },
  { status: 413 },
  { status: 401 },
  "reset",
];

/** Starts the proxy; `random` decides which requests fail and how (seeded, so a failure can be replayed). */
export async function startChaosProxy(
  upstream: string,
  fraction: number,
  random: () => number,
): Promise<ChaosProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const faults = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (random() < fraction) {
        let fault = FAULTS[Math.floor(random() * FAULTS.length)]!;
        // A remote answers 413 only for a body over its limit, and one line always fits here.
        if (fault !== "reset" && fault.status === 413 && isOneLine(req, body)) fault = { status: 500 };
        const name = fault === "reset" ? "reset" : String(fault.status);
        faults.set(name, (faults.get(name) ?? 0) + 1);
        if (fault === "reset") {
          req.socket.destroy();
          return;
        }
        const headers: http.OutgoingHttpHeaders = { "content-type": "application/json" };
        if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
        res.writeHead(fault.status, headers);
        res.end(JSON.stringify({ error: `chaos ${fault.status}` }));
        return;
      }
      const forward = http.request(
        {
          hostname: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
          agent,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isOneLine(req: http.IncomingMessage, body: Buffer): boolean {
  const text = req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
  return !text.includes(0x0a);
}
