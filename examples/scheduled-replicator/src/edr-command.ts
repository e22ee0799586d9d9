import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * The `edr` command as `[program, ...args]`: from source through tsx in this repository (where edr-plugin's
 * entry is `src/index.ts`, so `pnpm edr` needs no build), or the compiled `dist/cli/main.js` of an install
 * from npm, which is what `npx edr` runs.
 */
export function edrCommand(): string[] {
  const entry = createRequire(import.meta.url).resolve("edr-plugin");
  const source = join(dirname(entry), "cli", "main.ts");
  if (existsSync(source)) return [process.execPath, "--import", "tsx", source];
  return [process.execPath, join(dirname(entry), "cli", "main.js")];
}
