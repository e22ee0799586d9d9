/**
 * `pnpm run check:packages`: packs every published package as it would be published (a clean build first)
 * and lints each tarball with publint and attw. Exit 0 when all are clean. `install.test.ts` runs the same
 * checks inside `pnpm test` (they need the build, which is too slow for `pnpm run check`).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lintTarballs, packPackages } from "./packages.js";

const work = await mkdtemp(join(tmpdir(), "edr-check-packages-"));
try {
  const started = Date.now();
  const tarballs = await packPackages(work);
  const problems = await lintTarballs(tarballs);
  let failed = 0;
  for (const [name, list] of Object.entries(problems)) {
    if (list.length === 0) {
      console.log(`ok ${name}: publint and attw (esm-only) are content`);
    } else {
      failed += 1;
      console.log(`FAIL ${name}:\n${list.map((p) => `  ${p.replaceAll("\n", "\n  ")}`).join("\n")}`);
    }
  }
  console.log(
    `${failed === 0 ? "all packages pass" : `${failed} packages fail`} (${Date.now() - started} ms)`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
