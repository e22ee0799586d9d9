/**
 * The published packages as npm will serve them: packed by pnpm (which builds each one first, through its
 * `prepack` script, and applies its `publishConfig`), then linted with publint and attw, tarball by tarball.
 * Used by `install.test.ts` and by `pnpm run check:packages` (`check-packages.ts`).
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every package this repository publishes (edr-testkit is private), dependencies first. */
export const PUBLISHED_PACKAGES = [
  "edr-args",
  "edr-transform",
  "edr-queue",
  "edr-sink",
  "edr-plugin",
] as const;
export type PublishedPackage = (typeof PUBLISHED_PACKAGES)[number];

/** What a command printed and how it ended. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long. @default 240000 */
  timeoutMs?: number;
}

/** Runs a command without a shell and collects its output; never rejects for a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 240_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The command, output and exit of a run, for an assertion message. */
export function describeRun(what: string, result: RunResult): string {
  return `${what} exited ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/**
 * How to start pnpm: the pnpm that runs this script when there is one (`npm_execpath`, as in `pnpm test`,
 * where CI starts pnpm through npx and it may not be on PATH), else `pnpm` from PATH.
 */
function pnpmCommand(): [string, string[]] {
  const execPath = process.env["npm_execpath"];
  if (execPath !== undefined && /pnpm(\.c?js)?$/.test(execPath)) return [process.execPath, [execPath]];
  return ["pnpm", []];
}

/**
 * Packs every published package into `destination` with `pnpm pack`, which runs each package's `prepack`
 * (a clean build of `dist/`), rewrites `workspace:` versions and applies `publishConfig` (the `exports` of
 * `dist/`). Returns the tarball of each package.
 */
export async function packPackages(destination: string): Promise<Record<PublishedPackage, string>> {
  await mkdir(destination, { recursive: true });
  const [command, prefix] = pnpmCommand();
  const filters = PUBLISHED_PACKAGES.flatMap((name) => ["--filter", name]);
  const result = await run(
    command,
    [...prefix, "--recursive", ...filters, "pack", "--pack-destination", destination],
    { cwd: ROOT },
  );
  if (result.code !== 0) throw new Error(describeRun("pnpm pack", result));
  const files = await readdir(destination);
  const tarballs: Partial<Record<PublishedPackage, string>> = {};
  for (const name of PUBLISHED_PACKAGES) {
    const file = files.find((f) => new RegExp(`^${name}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`).test(f));
    if (file === undefined) throw new Error(`pnpm pack wrote no tarball of ${name} in ${destination}`);
    tarballs[name] = join(destination, file);
  }
  return tarballs as Record<PublishedPackage, string>;
}

/** One entry of a tarball: its path without the leading `package/`, its mode bits and its content. */
export interface TarEntry {
  path: string;
  mode: number;
  content: Buffer;
}

/** Reads a .tgz (ustar, as npm and pnpm write it) into its file entries. */
export async function readTarball(tarball: string): Promise<TarEntry[]> {
  const tar = gunzipSync(await readFile(tarball));
  const entries: TarEntry[] = [];
  const text = (start: number, length: number) =>
    tar.toString("utf8", start, start + length).replace(/\0.*$/s, "");
  for (let offset = 0; offset + 512 <= tar.length;) {
    const name = text(offset, 100);
    if (name === "") break;
    const prefix = text(offset + 345, 155);
    const mode = Number.parseInt(text(offset + 100, 8).trim(), 8);
    const size = Number.parseInt(text(offset + 124, 12).trim(), 8);
    const type = text(offset + 156, 1);
    const path = (prefix === "" ? name : `${prefix}/${name}`).replace(/^package\//, "");
    if (type === "0" || type === "") {
      entries.push({ path, mode, content: tar.subarray(offset + 512, offset + 512 + size) });
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/**
 * publint (strict: warnings count) and attw with the ESM-only profile on one tarball. Returns the problems,
 * one text each; empty when both are content.
 */
export async function lintTarball(tarball: string): Promise<string[]> {
  const problems: string[] = [];
  const data = await readFile(tarball);
  const tarballBuffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const { messages, pkg } = await publint({
    pack: { tarball: tarballBuffer },
    strict: true,
    level: "suggestion",
  });
  for (const message of messages) {
    problems.push(
      `publint ${message.type}: ${formatMessage(message, pkg, { color: false }) ?? message.code}`,
    );
  }
  // The ESM-only profile leaves out `require` (node16 from CJS) and the node10 resolution: these packages
  // are ESM only on purpose (Node >= 20.19 can require() them). --no-definitely-typed: every package ships
  // its own declarations, so attw has no reason to fetch @types from the registry.
  const result = await run(
    process.execPath,
    [attwBin(), tarball, "--profile", "esm-only", "--no-definitely-typed", "--format", "ascii", "--no-color"],
    { cwd: dirname(tarball) },
  );
  // attw exits 0 for a package without any declarations ("This package does not contain types"): for these
  // packages, which all ship theirs, that is a failure too.
  if (result.code !== 0 || result.stdout.includes("does not contain types")) {
    problems.push(describeRun("attw", result));
  }
  return problems;
}

/** The attw command line, from this repository's devDependencies. */
function attwBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@arethetypeswrong/cli/package.json")), "dist", "index.js");
}

/** Lints every tarball, two at a time (attw takes a core for a second or two each). */
export async function lintTarballs(tarballs: Record<string, string>): Promise<Record<string, string[]>> {
  const names = Object.keys(tarballs);
  const found = new Map<string, string[]>();
  const queue = [...names];
  const next = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      found.set(name, await lintTarball(tarballs[name]!));
    }
  };
  await Promise.all([next(), next()]);
  return Object.fromEntries(names.map((name) => [name, found.get(name)!]));
}
