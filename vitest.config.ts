import { defineConfig } from "vitest/config";

// One vitest project per workspace package; a package that needs more (real servers,
// longer timeouts) has its own vitest.config.ts, which vitest picks up instead.
export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
  },
});
