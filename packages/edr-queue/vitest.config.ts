import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "edr-queue",
    // Crash tests spawn child processes; the machine is shared.
    testTimeout: 120_000,
    hookTimeout: 30_000,
  },
});
