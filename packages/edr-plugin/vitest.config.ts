import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "edr-plugin",
    // Real InfluxDB 1.6.7 (local and remote of the end-to-end tests), started once per run.
    globalSetup: ["../edr-testkit/src/vitest-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
