import { join } from "node:path";

import { RealServerError } from "./errors.js";
import { findFreePorts } from "./free-ports.js";
import { ensureInstalled } from "./install.js";
import { createServerDir, startProcess } from "./managed-process.js";
import { defaultLog, startWithPortRetries, type RealServer, type RealServerOptions } from "./real-server.js";

/** Where Debian's `victoria-metrics` package puts the server. */
export const VICTORIA_METRICS_PATH = "/usr/bin/victoria-metrics";

/**
 * Starts a real VictoriaMetrics (1.79.5 on Debian 12) on 127.0.0.1 with a free port and its data in a fresh
 * temp dir, installing Debian's `victoria-metrics` package first when the binary is missing. Resolves once
 * `/health` answers. Retention is 100 years so tests may write old timestamps (the default, one month,
 * silently drops them). Written samples become visible to reads after `POST /internal/force_flush`.
 */
export async function startVictoriaMetrics(options: RealServerOptions = {}): Promise<RealServer> {
  const binaryPath = options.binaryPath ?? VICTORIA_METRICS_PATH;
  const log = options.log ?? defaultLog;
  if (options.install ?? true) {
    await ensureInstalled({
      binaryPath,
      aptPackage: "victoria-metrics",
      serviceName: "victoria-metrics",
      log,
    });
  }
  return startWithPortRetries("victoria-metrics", async () => {
    const [port] = await findFreePorts(1);
    if (port === undefined) {
      throw new RealServerError("START_FAILED", "[edr-testkit] [victoria-metrics] no free port");
    }
    const dir = createServerDir("victoria-metrics");
    const url = `http://127.0.0.1:${port}`;
    const managed = await startProcess({
      name: "victoria-metrics",
      command: binaryPath,
      args: [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${join(dir, "data")}`,
        "-retentionPeriod=100y",
        "-loggerLevel=INFO",
      ],
      dir,
      readyUrl: `${url}/health`,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      stopGraceMs: options.stopGraceMs ?? 5_000,
    });
    return { url, dir, ...managed };
  });
}
