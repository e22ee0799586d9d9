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
export type { FaultSwitches, FailureOptions, FaultTarget } from "./influxdb3-server/faults.js";

// Real InfluxDB 1.6.7 and VictoriaMetrics for integration tests (owned by the real-servers work).
// -- real-server exports --
