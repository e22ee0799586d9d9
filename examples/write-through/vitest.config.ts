import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "edr-example-write-through",
    // Child processes (edr from source through tsx) start in 1-3 s on a loaded 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
