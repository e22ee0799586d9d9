import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "install",
    // Builds, packs and installs every published package (about a minute alone; more on a busy 2-core box
    // while the other projects run).
    testTimeout: 240_000,
    hookTimeout: 300_000,
  },
});
