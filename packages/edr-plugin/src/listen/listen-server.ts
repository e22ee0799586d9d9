// `edr listen`'s HTTP server: InfluxDB's write endpoints in front of the local instance. Writes to the
// replicated database go through write-through.ts; the lead's routes (`/status`, `/metrics`…) are served
// as given; everything else is passed to the local instance untouched.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PluginError } from "../errors.js";
import { consoleLogger, type ReplicatorLogger } from "../logger.js";
import { DiskFullGate } from "./disk-full-gate.js";
import { errorReply, sendReply, usesV2Errors } from "./error-replies.js";
import { createLocalTarget, type LocalTarget } from "./local-client.js";
import {
  redactUrl,
  resolveListenOptions,
  type ListenServerOptions,
  type ResolvedListenOptions,
} from "./listen-options.js";
import { passThrough } from "./pass-through.js";
import { readWriteParams, writeApiOf, writesTo } from "./write-endpoints.js";
import { handleWrite, type WriteContext } from "./write-through.js";

/** A running write-through endpoint. */
export interface ListenServer {
  /** `http://host:port` it listens on. */
  readonly url: string;
  /**
   * Stops taking connections, lets the writes in flight finish (forwarded, queued, answered), gives other
   * requests `closeGraceMs`, then closes every connection. Safe to call twice: both calls get one promise.
   */
  close(): Promise<void>;
}

/**
 * Starts the endpoint and resolves once it listens. Rejects with a PluginError (`INVALID_ARGUMENT`) for
 * options that cannot work, or when the address cannot be listened on.
 */
export async function createListenServer(options: ListenServerOptions): Promise<ListenServer> {
  const resolved = resolveListenOptions(options);
  const logger = options.logger ?? consoleLogger;
  const target = createLocalTarget(resolved.localUrl, resolved.localTimeoutMs, resolved.maxLocalConnections);
  const state = new ServerState(resolved, target, logger);
  const server = createServer({ keepAlive: true }, (req, res) => state.dispatch(req, res));
  try {
    await listen(server, resolved.host, resolved.port);
  } catch (error) {
    target.agent.destroy();
    const reason = error instanceof Error ? error.message : String(error);
    throw new PluginError(
      "INVALID_ARGUMENT",
      `edr listen: cannot listen on ${resolved.host}:${resolved.port}: ${reason}`,
      {
        cause: error,
      },
    );
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(
    `[edr listen] listening on ${url}: writes to "${resolved.database}" go to ${redactUrl(target.shown)} and are queued for the remote`,
  );
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => (closing ??= state.close(server)),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** The requests in flight and what handling them needs. */
class ServerState {
  private closing = false;
  private readonly writes = new Set<Promise<void>>();
  private readonly others = new Set<Promise<void>>();
  private unreachable = false;
  private readonly writeContext: WriteContext;

  constructor(
    private readonly options: ResolvedListenOptions,
    private readonly target: LocalTarget,
    private readonly logger: ReplicatorLogger,
  ) {
    this.writeContext = {
      target,
      intake: options.intake,
      logger,
      now: options.now,
      maxBodyBytes: options.maxBodyBytes,
      diskFull: new DiskFullGate(options.now, logger),
      closing: () => this.closing,
      reachability: (message) => this.reachability(message),
    };
  }

  dispatch(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    const route = this.options.routes.get(pathname);
    if (route !== undefined) {
      this.track(
        this.others,
        this.guard(pathname, res, () => route(req, res)),
      );
      return;
    }
    const api = writeApiOf(pathname);
    if (api !== undefined && req.method === "POST") {
      const params = readWriteParams(api, new URLSearchParams(q < 0 ? "" : url.slice(q + 1)));
      if (writesTo(api, params.database, this.options.database)) {
        this.track(
          this.writes,
          this.guard(pathname, res, () => handleWrite(req, res, api, params, this.writeContext)),
        );
        return;
      }
    }
    const ctx = {
      target: this.target,
      closing: () => this.closing,
      onUnreachable: (message: string) => this.reachability(message),
    };
    this.track(
      this.others,
      this.guard(pathname, res, () => passThrough(req, res, ctx)),
    );
  }

  /** Runs a handler; a failure it did not answer itself becomes a 500 (or a cut connection once answering). */
  private async guard(pathname: string, res: ServerResponse, handle: () => Promise<void>): Promise<void> {
    try {
      await handle();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // A client that went away mid-request is not worth a warning.
      if (res.destroyed || res.req.destroyed) return;
      this.logger.warn(`[edr listen] ${pathname}: ${reason}`);
      if (res.headersSent) res.destroy();
      else sendReply(res, errorReply(usesV2Errors(pathname), 500, `edr listen: ${reason}`), this.closing);
    }
  }

  private track(set: Set<Promise<void>>, running: Promise<void>): void {
    set.add(running);
    void running.finally(() => set.delete(running));
  }

  /** Logs when the local instance stops and starts answering, not once per request. */
  private reachability(message: string | undefined): void {
    if (message !== undefined && !this.unreachable) {
      this.unreachable = true;
      this.logger.warn(`[edr listen] ${message}: writes are answered 503 until it answers again`);
    } else if (message === undefined && this.unreachable) {
      this.unreachable = false;
      this.logger.info(`[edr listen] the local instance at ${this.target.shown} answers again`);
    }
  }

  async close(server: Server): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Writes that arrive meanwhile on open connections are writes in flight too: wait until none is left.
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    if (this.others.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.closeGraceMs);
      });
      await Promise.race([Promise.allSettled([...this.others]), grace]);
      clearTimeout(timer);
    }
    server.closeAllConnections();
    await closed;
    this.target.agent.destroy();
    this.logger.info("[edr listen] closed");
  }
}
