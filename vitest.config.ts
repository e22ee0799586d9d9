import { defineConfig } from "vitest/config";

// One vitest project per workspace package; a package that needs more (real servers,
// longer timeouts) has its own vitest.config.ts, which vitest picks up instead.
// test/install packs, installs and runs the published packages from the outside: a check of the
// repository as a whole, not of one package, so it lives beside them rather than among them.
export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*", "test/install"],
  },
});
