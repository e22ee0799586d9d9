// An edr-testkit server in its own process, driven by the benches over IPC (server-client.ts): a real local or remote
// InfluxDB runs beside edr, not inside it, so neither its CPU nor its memory (every point it stores) counts
// as edr's. Forked with the parent's `tsx` loader; argv: the token, `replay` for the local server (or ""), and
// optionally the server's `writeDelayMs` (its model of InfluxDB 3's ~1 s WAL flush before a write's answer).
//
// With `replay`, requests reach the edr-testkit server through a front on another port that forwards each
// one as is and keeps the answers of `query_sql`; the same query (method, URL, credentials, body) asked
// again gets the same bytes straight from memory. The first answer to a query is the server's own, streamed
// through as it comes. Why: the test server builds a whole answer before it sends a byte, at about
// 100k rows/s, well below what edr is asked to reach (see scheduled.ts).
//
// Messages, each answered `{ id, value }` or `{ id, error }`:
// - `fill` { db, hours }: writes the bench table (scheduled-data.ts) over HTTP and forgets kept answers;
// - `points` { db }: the number of points stored; the first call after writes parses them (the test server
//   keeps a write's bytes until its points are asked for), which is what warming the server means;
// - `reset`: forgets data, requests and answers; `close`: stops everything, then the process exits;
// - `refuse` / `accept`: the server stops listening and cuts its connections (new ones are refused), then
//   listens again on the same port (edr-testkit's `faults.refuse()` / `faults.accept()`): a remote outage;
//   `accept` answers the wall-clock time (ms) it listens again, and `resumed` the time the first request
//   arrived after it (watched every 5 ms), or null while none has.
import * as http from "node:http";
import { startInfluxDB3Server } from "edr-testkit";
import { FILL_BODY_ROWS, rowCount, tableLines } from "./scheduled-data.js";

/** What the bench sends. */
export interface ServerMessage {
  id: number;
  op: "fill" | "points" | "reset" | "close" | "refuse" | "accept" | "resumed";
  db?: string;
  hours?: number;
}

/** What this process answers (id 0, sent once listening: the URL to use, and the server's own). */
export interface ServerReply {
  id: number;
  value?: unknown;
  error?: string;
}

interface Answer {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

const send = process.send?.bind(process);
if (send === undefined) throw new Error("[edr-plugin bench] server-process must be forked with IPC");
const token = process.argv[2] === "" ? undefined : process.argv[2];
const replay = process.argv[3] === "replay";
const writeDelayMs = Number(process.argv[4] ?? 0);
const server = await startInfluxDB3Server({
  ...(token === undefined ? {} : { token }),
  ...(writeDelayMs > 0 ? { writeDelayMs } : {}),
});
const fillAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const backendAgent = new http.Agent({ keepAlive: true });
/** Answers of `query_sql` by request. */
const answers = new Map<string, Answer>();
/** What `close` stops besides the server. */
const closers: (() => Promise<void>)[] = [];
/** When the first request arrived after the last `accept` (epoch ms), and the watch that notes it. */
let resumedAt: number | undefined;
let resumeWatch: NodeJS.Timeout | undefined;

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    stream.on("data", (piece: Buffer) => pieces.push(piece));
    stream.on("end", () => resolve(Buffer.concat(pieces)));
    stream.on("error", reject);
  });
}

/** The headers of an answer to pass on: all but the hop-by-hop ones. */
function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const {
    connection: _connection,
    "keep-alive": _keepAlive,
    "transfer-encoding": _transferEncoding,
    ...rest
  } = headers;
  return rest;
}

/** Sends the request on to the edr-testkit server and its answer back as it comes; resolves with a copy. */
function forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<Answer> {
  const { host: _host, ...headers } = req.headers;
  return new Promise((resolve, reject) => {
    const out = http.request(
      `${server.url}${req.url ?? "/"}`,
      { method: req.method ?? "GET", headers, agent: backendAgent },
      (answer) => {
        const status = answer.statusCode ?? 502;
        const answerHeaders = endToEnd(answer.headers);
        res.writeHead(status, answerHeaders);
        const pieces: Buffer[] = [];
        answer.on("data", (piece: Buffer) => {
          pieces.push(piece);
          res.write(piece);
        });
        answer.on("end", () => {
          res.end();
          resolve({ status, headers: answerHeaders, body: Buffer.concat(pieces) });
        });
        answer.on("error", reject);
      },
    );
    out.on("error", reject);
    out.end(body);
  });
}

async function front(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readAll(req);
  const cacheable = req.url?.startsWith("/api/v3/query_sql") === true;
  const key = `${req.method} ${req.url} ${req.headers.authorization ?? ""} ${body.toString("utf8")}`;
  const known = cacheable ? answers.get(key) : undefined;
  if (known !== undefined) {
    res.writeHead(known.status, { ...known.headers, "content-length": known.body.length });
    res.end(known.body);
    return;
  }
  const answer = await forward(req, body, res);
  if (cacheable && answer.status === 200) answers.set(key, answer);
}

async function startFront(): Promise<string> {
  const frontServer = http.createServer((req, res) => {
    front(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => frontServer.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        frontServer.close(() => resolve());
        frontServer.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(frontServer.address() as { port: number }).port}`;
}

function post(db: string, body: string): Promise<void> {
  const url = `${server.url}/api/v3/write_lp?db=${encodeURIComponent(db)}&precision=nanosecond`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent: fillAgent,
        headers: {
          "content-type": "text/plain",
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        readAll(res).then(
          (answer) =>
            res.statusCode === 204
              ? resolve()
              : reject(new Error(`fill: ${res.statusCode} ${answer.toString("utf8")}`)),
          reject,
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function fill(db: string, hours: number): Promise<number> {
  answers.clear();
  const rows = rowCount(hours);
  for (let from = 0; from < rows; from += FILL_BODY_ROWS) {
    await post(db, tableLines(from, Math.min(rows, from + FILL_BODY_ROWS)).join("\n"));
  }
  return rows;
}

async function handle(message: ServerMessage): Promise<unknown> {
  switch (message.op) {
    case "fill":
      return fill(message.db!, message.hours!);
    case "points":
      return server.points(message.db!).length;
    case "reset":
      answers.clear();
      server.reset();
      return undefined;
    case "refuse":
      await server.faults.refuse();
      return undefined;
    case "accept": {
      const seen = server.requests.length;
      resumedAt = undefined;
      clearInterval(resumeWatch);
      resumeWatch = setInterval(() => {
        if (server.requests.length > seen) {
          resumedAt = Date.now();
          clearInterval(resumeWatch);
        }
      }, 5);
      await server.faults.accept();
      return Date.now();
    }
    case "resumed":
      return resumedAt ?? null;
    case "close":
      clearInterval(resumeWatch);
      fillAgent.destroy();
      backendAgent.destroy();
      for (const close of closers) await close();
      await server.close();
      return undefined;
  }
}

process.on("message", (message: ServerMessage) => {
  void handle(message).then(
    (value) => {
      send({ id: message.id, value } satisfies ServerReply, () => {
        if (message.op === "close") process.disconnect();
      });
    },
    (error: unknown) => send({ id: message.id, error: String(error) } satisfies ServerReply),
  );
});
const url = replay ? await startFront() : server.url;
send({ id: 0, value: { url, serverUrl: server.url } } satisfies ServerReply);
