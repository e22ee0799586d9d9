// The test server that answers like InfluxDB 3 (owned by the server work).
// -- server exports --
/** Field and point shapes shared by the test server and the real-server readers. */
export type { StoredField, StoredPoint } from "./stored-point.js";
/** Start the InfluxDB-3-compatible test server; see the README for endpoints and fault switches. */
export {
  startInfluxDB3Server,
  DEFAULT_MAX_REQUEST_BYTES,
  SERVER_VERSION,
  type InfluxDB3ServerOptions,
  type InfluxDB3TestServer,
  type ReceivedRequest,
} from "./influxdb3-server/server.js";
/** Fault switches of the test server. */
export type {
  FaultSwitches,
  FailureOptions,
  FaultTarget,
  FaultChooser,
  FaultRequest,
  RequestFault,
} from "./influxdb3-server/faults.js";
/** The seeded PRNG behind `failFraction`, for replayable randomness in tests. */
export { mulberry32 } from "./influxdb3-server/faults.js";
/** The error the test server's API throws, with a `code`. */
export { TestServerError, type TestServerErrorCode } from "./influxdb3-server/errors.js";

// Real InfluxDB 1.6.7 and VictoriaMetrics for integration tests (owned by the real-servers work).
// -- real-server exports --
/** Start and stop real InfluxDB 1.6.7 and VictoriaMetrics on 127.0.0.1 (installed with apt when missing). */
export { startInfluxDB1, INFLUXD_PATH } from "./real-servers/influxdb1.js";
/** Start and stop a real VictoriaMetrics on 127.0.0.1; writes become readable after `/internal/force_flush`. */
export { startVictoriaMetrics, VICTORIA_METRICS_PATH } from "./real-servers/victoria-metrics.js";
/** What a start helper returns and takes. */
export type { RealServer, RealServerOptions } from "./real-servers/real-server.js";
/** Talk to InfluxDB 1.x over v1 `/write` and `/query`; read back points exactly (lossless JSON, typed fields). */
export {
  createInfluxDB1Database,
  writeInfluxDB1,
  readInfluxDB1Points,
  sortStoredPoints,
  quoteInfluxQLIdentifier,
  type InfluxDB1WriteResult,
} from "./real-servers/influxdb1-client.js";
/** The error the real-server helpers throw, with a `code`. */
export { RealServerError, type RealServerErrorCode } from "./real-servers/errors.js";
