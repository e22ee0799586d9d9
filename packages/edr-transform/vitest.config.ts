import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "edr-transform",
    // The fidelity test writes to a real InfluxDB 1.6.7, started once for this project.
    globalSetup: ["../edr-testkit/src/vitest-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
