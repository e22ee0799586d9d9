// The test server that answers like InfluxDB 3 (owned by the server work).
// -- server exports --

// Real InfluxDB 1.6.7 and VictoriaMetrics for integration tests (owned by the real-servers work).
// -- real-server exports --
