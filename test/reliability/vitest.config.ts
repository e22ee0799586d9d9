import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "reliability",
    // Real InfluxDB 1.6.7 (the remote of every scenario, the local of some), started once per run.
    globalSetup: ["../../packages/edr-testkit/src/vitest-global-setup.ts"],
    // Each file runs long scenarios against child processes and real servers; one file at a time keeps
    // their timing (kill moments, grace periods) meaningful on a 2-core machine.
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
