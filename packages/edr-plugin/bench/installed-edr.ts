// The `edr` command as a user's install runs it: the published packages packed (`pnpm pack`: a clean build,
// `publishConfig` applied) and installed with npm into an empty project in the temp directory, run with plain
// node. Source run through tsx costs ~45 MB more at start-up (the compiler and its caches), which would be
// counted as edr's in a memory figure.
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const PUBLISHED = ["edr-args", "edr-transform", "edr-queue", "edr-sink", "edr-plugin"];

/** An installed `edr`: the path of its `bin/edr.js`, and how to remove the install. */
export interface InstalledEdr {
  readonly bin: string;
  dispose(): Promise<void>;
}

/** Packs and installs the published packages (about 30 s, npm's cache and registry for third-party ones). */
export async function installEdr(): Promise<InstalledEdr> {
  const dir = await mkdtemp(join(tmpdir(), "edr-plugin-bench-install-"));
  try {
    const packs = join(dir, "packs");
    const filters = PUBLISHED.flatMap((name) => ["--filter", name]);
    await run("pnpm", ["--recursive", ...filters, "pack", "--pack-destination", packs], { cwd: ROOT });
    const tarballs = (await readdir(packs)).map((file) => join(packs, file));
    const project = join(dir, "project");
    await run("mkdir", ["-p", project]);
    await writeFile(join(project, "package.json"), '{ "name": "edr-bench-install", "private": true }\n');
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], {
      cwd: project,
      // npm as in a user's shell: not pnpm's script settings.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    });
    return {
      bin: join(project, "node_modules", "edr-plugin", "bin", "edr.js"),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

let shared: Promise<string> | undefined;

/**
 * The bin of one install shared by every bench group of this process (EDR_BENCH_EDR_BIN when set), made on
 * first use and removed when the process exits.
 */
export function installedEdrBin(): Promise<string> {
  const given = process.env.EDR_BENCH_EDR_BIN;
  if (given) return Promise.resolve(given);
  shared ??= installEdr().then((installed) => {
    const dir = join(installed.bin, "..", "..", "..", "..", "..");
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return installed.bin;
  });
  return shared;
}
