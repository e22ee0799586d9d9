// vitest global setup: real InfluxDB 1.6.7 and VictoriaMetrics, started once per vitest project that lists
// this file in `test.globalSetup`, and stopped at teardown. Tests read the URLs with
// `inject("influxdb1Url")` and `inject("victoriaMetricsUrl")`.
// The type-only import lets TypeScript resolve the module it augments below; nothing is loaded at run time.
import type {} from "vitest";
import type { TestProject } from "vitest/node";

import { startInfluxDB1 } from "./real-servers/influxdb1.js";
import type { RealServer } from "./real-servers/real-server.js";
import { startVictoriaMetrics } from "./real-servers/victoria-metrics.js";

declare module "vitest" {
  interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the InfluxDB 1.6.7 started for this project. */
    influxdb1Url: string;
    /** `http://127.0.0.1:PORT` of the VictoriaMetrics started for this project. */
    victoriaMetricsUrl: string;
  }
}

/**
 * Starts both servers (installing them with apt when missing), provides their URLs, and returns the
 * teardown that stops them. If one fails to start, the other is stopped and the run fails with the
 * server's log tail: tests that need the servers are never skipped.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = await Promise.allSettled([startInfluxDB1(), startVictoriaMetrics()]);
  const servers = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = started.find((result) => result.status === "rejected");
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.map((server: RealServer) => server.stop()));
  };
  if (failure !== undefined) {
    await stopAll();
    throw failure.reason;
  }
  const [influxdb1, victoriaMetrics] = servers as [RealServer, RealServer];
  project.provide("influxdb1Url", influxdb1.url);
  project.provide("victoriaMetricsUrl", victoriaMetrics.url);
  return stopAll;
}
