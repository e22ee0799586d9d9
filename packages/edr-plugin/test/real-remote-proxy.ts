// An HTTP proxy on 127.0.0.1 between the replicator and a real remote, which can really go away: `down()`
// closes its listener (new connections are refused) and destroys every open connection (requests in flight
// get no answer); `up()` listens again on the same port.
import * as http from "node:http";
import type { Socket } from "node:net";

/** What went through the proxy. */
export interface ProxyStats {
  /** Requests received (while up). */
  received: number;
  /** Requests whose answer reached the client. */
  answered: number;
  /** Requests whose connection was destroyed before the client had the whole answer. */
  cut: number;
  /** Requests the remote had answered with a 2xx (stored) whose answer the proxy never passed on. */
  storedButCut: number;
  /** Times the proxy went down. */
  outages: number;
  /** Requests open when the proxy last went down. */
  openAtLastOutage: number;
  /** Most requests open at once. */
  maxOpen: number;
  /** When the proxy last came back up (epoch ms). */
  upAt: number | undefined;
  /** When the first request after that arrived (epoch ms). */
  firstAfterUpAt: number | undefined;
}

export interface RemoteProxy {
  readonly url: string;
  readonly stats: ProxyStats;
  readonly isUp: boolean;
  /**
   * Goes down when the `n`th write request (`POST /write…`) counted from now has been answered by the remote,
   * before its answer is passed on: the remote stored those lines, the client never hears so. Resolves
   * once the proxy is down.
   */
  downAfterWrites(n: number): Promise<void>;
  /** Stops accepting connections and destroys the open ones. */
  down(): Promise<void>;
  /** Accepts connections again, on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy to `upstream` (`http://host:port`) on a free port of 127.0.0.1. */
export async function startRemoteProxy(upstream: string): Promise<RemoteProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const open = new Set<http.ServerResponse>();
  const stats: ProxyStats = {
    received: 0,
    answered: 0,
    cut: 0,
    storedButCut: 0,
    outages: 0,
    openAtLastOutage: 0,
    maxOpen: 0,
    upAt: undefined,
    firstAfterUpAt: undefined,
  };
  let up = true;
  let trigger: { remaining: number; fired: () => void } | undefined;
  let going: Promise<void> | undefined;

  const server = http.createServer((req, res) => {
    stats.received++;
    if (stats.upAt !== undefined) stats.firstAfterUpAt ??= Date.now();
    open.add(res);
    stats.maxOpen = Math.max(stats.maxOpen, open.size);
    res.on("close", () => {
      open.delete(res);
      if (res.writableFinished) stats.answered++;
      else stats.cut++;
    });
    const isWrite = req.method === "POST" && (req.url ?? "").startsWith("/write");
    const fires = isWrite && trigger !== undefined && --trigger.remaining === 0;
    const forward = http.request(
      {
        hostname: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        if (fires) {
          const fired = trigger?.fired;
          trigger = undefined;
          answer.resume();
          answer.on("end", () => {
            if ((answer.statusCode ?? 0) >= 200 && (answer.statusCode ?? 0) < 300) stats.storedButCut++;
            void goDown().then(() => fired?.());
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.on("error", () => forward.destroy());
    res.on("close", () => {
      if (!res.writableFinished && !fires) forward.destroy();
    });
    req.pipe(forward);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });

  function goDown(): Promise<void> {
    if (!up) return going ?? Promise.resolve();
    up = false;
    stats.outages++;
    stats.openAtLastOutage = open.size;
    going = new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return going;
  }

  await listen(0);
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    get isUp() {
      return up;
    },
    downAfterWrites(n) {
      return new Promise<void>((resolve) => {
        trigger = { remaining: n, fired: resolve };
      });
    },
    down: goDown,
    async up() {
      if (up) return;
      await going;
      // The port is free again unless something took it meanwhile (rare): try a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          await listen(port);
          break;
        } catch (error) {
          if (attempt === 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      up = true;
      stats.upAt = Date.now();
      stats.firstAfterUpAt = undefined;
    },
    async close() {
      trigger = undefined;
      await goDown();
      agent.destroy();
    },
  };
}
