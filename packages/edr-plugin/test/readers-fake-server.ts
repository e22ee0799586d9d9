// A bare HTTP server whose answers a test writes byte by byte: for the broken answers no real server (nor
// edr-testkit's) sends on purpose, such as a 200 whose last row has no newline, or malformed JSON.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A server answering every request with `respond`. */
export interface FakeServer {
  url: string;
  /** The requests so far: method, path with query, headers, body. */
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  close(): Promise<void>;
}

export async function startFakeServer(
  respond: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<FakeServer> {
  const requests: FakeServer["requests"] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (piece: string) => (body += piece));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      respond(req, res, body);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends `pieces` as a chunked 200 one by one, then ends the answer properly (`end`) or cuts the connection. */
export function sendPieces(res: ServerResponse, pieces: readonly string[], ending: "end" | "cut"): void {
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  for (const piece of pieces) res.write(piece);
  if (ending === "end") res.end();
  else res.socket?.end();
}
