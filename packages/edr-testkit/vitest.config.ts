import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "edr-testkit",
    globalSetup: ["./src/vitest-global-setup.ts"],
    // Real servers answer in milliseconds, but a shared 2-core CI box can stall them for seconds.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
