// Runs the test server as its own process, for the README demo and for trying a client by hand:
//   pnpm --filter edr-testkit influxdb3-server -- --port 8181 [--token T] [--write-delay-ms 1000]
// Prints one JSON line {"url": "..."} once listening; SIGINT or SIGTERM closes it and exits 0.
import { parseArgs } from "node:util";
import { TestServerError } from "./errors.js";
import { startInfluxDB3Server, type InfluxDB3ServerOptions } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    token: { type: "string" },
    "write-delay-ms": { type: "string" },
    "max-request-bytes": { type: "string" },
  },
  strict: true,
});

function count(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new TestServerError("INVALID_ARGUMENT", `--${name}: expected a whole number >= 0, got "${text}"`);
  }
  return n;
}

const options: InfluxDB3ServerOptions = {};
const port = count("port", values.port);
const writeDelayMs = count("write-delay-ms", values["write-delay-ms"]);
const maxRequestBytes = count("max-request-bytes", values["max-request-bytes"]);
if (port !== undefined) options.port = port;
if (writeDelayMs !== undefined) options.writeDelayMs = writeDelayMs;
if (maxRequestBytes !== undefined) options.maxRequestBytes = maxRequestBytes;
if (values.token !== undefined) options.token = values.token;

const server = await startInfluxDB3Server(options);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
