import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { RealServerError } from "./errors.js";
import { findFreePorts } from "./free-ports.js";
import { ensureInstalled } from "./install.js";
import { createServerDir, startProcess } from "./managed-process.js";
import { defaultLog, startWithPortRetries, type RealServer, type RealServerOptions } from "./real-server.js";

/** Where Debian's `influxdb` package puts the server. */
export const INFLUXD_PATH = "/usr/bin/influxd";

/**
 * The influxd 1.6.7 config: every listener on 127.0.0.1, data in `dir`, nothing running in the background
 * (no reporting, no _internal monitor, no retention or shard-precreation loops, no UDP/Graphite/collectd/
 * OpenTSDB inputs).
 */
function influxdConfig(dir: string, httpPort: number, rpcPort: number): string {
  const path = (name: string): string => JSON.stringify(join(dir, name));
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = ${path("meta")}
  retention-autocreate = true
  logging-enabled = true

[data]
  dir = ${path("data")}
  wal-dir = ${path("wal")}
  index-version = "inmem"
  wal-fsync-delay = "0s"
  query-log-enabled = true

[coordinator]
  write-timeout = "10s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = true
  pprof-enabled = false
  unix-socket-enabled = false
  max-body-size = 0

[ifql]
  enabled = false

[[graphite]]
  enabled = false
  bind-address = "127.0.0.1:0"

[[collectd]]
  enabled = false
  bind-address = "127.0.0.1:0"

[[opentsdb]]
  enabled = false
  bind-address = "127.0.0.1:0"

[[udp]]
  enabled = false
  bind-address = "127.0.0.1:0"

[continuous_queries]
  enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true
`;
}

/**
 * Starts a real InfluxDB 1.6.7 (`influxd run -config FILE`) on 127.0.0.1 with free ports and its data in a
 * fresh temp dir, installing Debian's `influxdb` package first when `/usr/bin/influxd` is missing. Resolves
 * once `/ping` answers. `stop()` kills it by PID and removes the dir; so does the test runner's exit.
 */
export async function startInfluxDB1(options: RealServerOptions = {}): Promise<RealServer> {
  const binaryPath = options.binaryPath ?? INFLUXD_PATH;
  const log = options.log ?? defaultLog;
  if (options.install ?? true) {
    await ensureInstalled({ binaryPath, aptPackage: "influxdb", serviceName: "influxdb", log });
  }
  return startWithPortRetries("influxdb1", async () => {
    const [httpPort, rpcPort] = await findFreePorts(2);
    if (httpPort === undefined || rpcPort === undefined) {
      throw new RealServerError("START_FAILED", "[edr-testkit] [influxdb1] no free ports");
    }
    const dir = createServerDir("influxdb1");
    const configPath = join(dir, "influxdb.conf");
    writeFileSync(configPath, influxdConfig(dir, httpPort, rpcPort));
    const url = `http://127.0.0.1:${httpPort}`;
    const managed = await startProcess({
      name: "influxdb1",
      command: binaryPath,
      args: ["run", "-config", configPath],
      dir,
      readyUrl: `${url}/ping`,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      stopGraceMs: options.stopGraceMs ?? 5_000,
    });
    return { url, dir, ...managed };
  });
}
