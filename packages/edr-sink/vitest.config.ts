import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "edr-sink",
    // Real InfluxDB 1.6.7 and VictoriaMetrics for test/real-servers.test.ts, started once per run.
    globalSetup: ["../edr-testkit/src/vitest-global-setup.ts"],
    testTimeout: 30_000,
  },
});
