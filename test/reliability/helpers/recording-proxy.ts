// A proxy in front of a remote that keeps a copy of every write request it received whole: what edr sent,
// in the order it arrived, with the remote's answer and whether that answer reached edr (a process killed
// while its write was in flight never hears it). The test then knows every value edr ever sent for a series
// and time, not only the last one the remote kept.
//
// It can hold each answer for a while after the remote stored the write, as InfluxDB 3 answers a write only
// after its write-ahead log flush (about a second): a sender killed meanwhile never learns that its write was
// stored, and must send it again.
import http from "node:http";
import type { Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { parseBody, type ParsedLine } from "./line-protocol.js";

/** One write request received whole. */
export interface RecordedWrite {
  /** Epoch ms when its body had arrived. */
  readonly atMs: number;
  readonly path: string;
  /** The body as text (gunzipped when sent with `content-encoding: gzip`). */
  readonly body: string;
  /** The remote's status; undefined when the remote did not answer. */
  status: number | undefined;
  /** Whether the answer reached the sender (false: the sender was gone, e.g. SIGKILLed, before it came). */
  answered: boolean;
}

export interface RecordingProxy {
  readonly url: string;
  readonly writes: readonly RecordedWrite[];
  /** Requests whose sender went away before its body was whole (never forwarded). */
  readonly cutBeforeForwarding: number;
  /** Every line of every write the remote answered 2xx, in arrival order. */
  deliveredLines(): ParsedLine[];
  close(): Promise<void>;
}

export interface RecordingProxyOptions {
  /** How long to hold the answer to a write after the remote gave it (ms; called once per write). */
  answerDelayMs?: () => number;
}

/** Starts a proxy to `upstream` on a free port of 127.0.0.1. Writes are `POST` to a path with `write` in it. */
export async function startRecordingProxy(
  upstream: string,
  options: RecordingProxyOptions = {},
): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const sockets = new Set<Socket>();
  const writes: RecordedWrite[] = [];
  let cutBeforeForwarding = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let whole = false;
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("close", () => {
      if (!whole) cutBeforeForwarding++;
    });
    req.on("end", () => {
      whole = true;
      const raw = Buffer.concat(chunks);
      const isWrite = req.method === "POST" && (req.url ?? "").includes("write");
      let record: RecordedWrite | undefined;
      if (isWrite) {
        const gzipped = /gzip/i.test(String(req.headers["content-encoding"] ?? ""));
        record = {
          atMs: Date.now(),
          path: req.url ?? "",
          body: (gzipped ? gunzipSync(raw) : raw).toString("utf8"),
          status: undefined,
          answered: false,
        };
        writes.push(record);
      }
      const forward = http.request(
        {
          hostname: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, "content-length": String(raw.length), connection: "keep-alive" },
          agent,
        },
        (answer) => {
          if (record !== undefined) record.status = answer.statusCode;
          res.on("finish", () => {
            if (record !== undefined) record.answered = true;
          });
          const parts: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => parts.push(chunk));
          answer.on("end", () => {
            const reply = () => {
              if (res.destroyed) return;
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(parts));
            };
            const delay = record === undefined ? 0 : (options.answerDelayMs?.() ?? 0);
            if (delay > 0) setTimeout(reply, delay);
            else reply();
          });
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(raw);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    writes,
    get cutBeforeForwarding() {
      return cutBeforeForwarding;
    },
    deliveredLines() {
      return writes
        .filter((w) => w.status !== undefined && w.status >= 200 && w.status < 300)
        .flatMap((w) => parseBody(w.body));
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      agent.destroy();
    },
  };
}
