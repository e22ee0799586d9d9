import { defineConfig } from "vitest/config";

// One vitest project per workspace package; a package that needs more (real servers,
// longer timeouts) has its own vitest.config.ts, which vitest picks up instead.
// test/install packs, installs and runs the published packages from the outside, and test/reliability runs
// the `edr` command through crashes and faults against real servers: checks of the repository as a whole, not
// of one package, so they live beside them rather than among them.
export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*", "test/install", "test/reliability"],
  },
});
