import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Transpiles src/ and the given test scripts to plain JavaScript under node_modules/.cache, so that
 * child processes start with plain `node` (~50 ms) instead of a TypeScript loader (~800 ms here): the
 * crash tests spawn hundreds of them. Returns the output directory (same layout as the package).
 */
export function buildForChild(label: string, scripts: readonly string[]): string {
  // One directory per caller: test files run in parallel and must not rewrite each other's modules
  // while a child imports them.
  const out = join(packageDir, "node_modules", ".cache", `edr-queue-${label}`);
  const files = [
    ...readdirSync(join(packageDir, "src"))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .map((f) => `src/${f}`),
    ...scripts,
  ];
  for (const file of files) {
    const source = readFileSync(join(packageDir, file), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: file,
    });
    const target = join(out, file.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(target), { recursive: true });
    // Written aside and renamed, so a child never imports a half-written module.
    writeFileSync(`${target}.${process.pid}.tmp`, outputText);
    renameSync(`${target}.${process.pid}.tmp`, target);
  }
  return out;
}
