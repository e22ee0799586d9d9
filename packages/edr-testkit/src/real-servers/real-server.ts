import { RealServerError } from "./errors.js";

/** Options shared by {@link startInfluxDB1} and {@link startVictoriaMetrics}. */
export interface RealServerOptions {
  /** The server binary. @default the Debian package's path */
  binaryPath?: string;
  /** Install the Debian package with apt-get when the binary is missing (needs root). @default true */
  install?: boolean;
  /** How long to wait for the server to answer its health endpoint. @default 30000 */
  readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before it sends SIGKILL. @default 5000 */
  stopGraceMs?: number;
  /** Where install progress goes. @default a line on stderr */
  log?: (line: string) => void;
}

/** A real server started for tests. */
export interface RealServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  pid: number;
  /** The server's temp dir (config, data, `server.log`); removed by `stop()`. */
  dir: string;
  /** The server's stdout and stderr, while it runs. */
  logPath: string;
  /** SIGTERM by PID, SIGKILL after the grace period, then removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** @internal */
export function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

const PORT_ATTEMPTS = 3;

/** @internal Starts again on new ports when another process took a port between probing and binding. */
export async function startWithPortRetries(
  name: string,
  start: () => Promise<RealServer>,
): Promise<RealServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const portTaken =
        error instanceof RealServerError &&
        error.code === "START_FAILED" &&
        /address already in use/i.test(error.message);
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}
