/**
 * The published packages work as their READMEs say once installed from npm, outside this repository: each is
 * packed as `pnpm publish` would (clean build, `publishConfig` applied), linted (publint, attw), installed with
 * npm into an empty project in the temp directory (third-party dependencies from the registry, through npm's
 * cache), and used there through its public entry point by a program compiled with tsc against the installed
 * declarations; the `edr` command runs from the install too.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PUBLISHED_PACKAGES,
  ROOT,
  describeRun,
  lintTarballs,
  packPackages,
  readTarball,
  run,
  type PublishedPackage,
  type RunOptions,
  type TarEntry,
} from "./packages.js";

const LOCAL_TOKEN = "install-check-local-token";
const REMOTE_TOKEN = "install-check-remote-token";
const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;
/** Lines of `cpu` in the local instance's `edge` database: two hosts, one point every 10 s for 10 minutes. */
const CPU_LINES = Array.from({ length: 60 }, (_, i) =>
  ["a", "b"].map((host) => `cpu,host=${host} usage=${i}.5,n=${i}i ${BigInt(T0 + i * 10_000) * 1_000_000n}`),
).flat();

/** npm settings worth keeping from the environment (a mirror, a CA, a proxy, another cache). */
const NPM_SETTINGS_KEPT = new Set(
  ["registry", "cafile", "ca", "proxy", "https_proxy", "noproxy", "strict_ssl", "cache", "userconfig"].map(
    (key) => `npm_config_${key}`,
  ),
);

/**
 * The environment of a command run in the scratch project: what pnpm sets for its scripts (`npm_*`, `pnpm_*`:
 * its own config, the repository's package) and loader flags (`NODE_OPTIONS`, `NODE_PATH`) are left out, so
 * npm and node behave as in a user's shell.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/i.test(key) && !NPM_SETTINGS_KEPT.has(key.toLowerCase())) continue;
    if (key === "NODE_OPTIONS" || key === "NODE_PATH") continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

describe("the published packages, installed from their tarballs with npm", () => {
  let work: string;
  let project: string;
  let tarballs: Record<PublishedPackage, string>;
  let local: InfluxDB3TestServer;
  let remote: InfluxDB3TestServer;

  const inProject = (command: string, args: readonly string[], options: Partial<RunOptions> = {}) =>
    run(command, args, { cwd: project, env: userEnv(), ...options });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "edr-install-"));
    [local, remote] = await Promise.all([
      startInfluxDB3Server({ token: LOCAL_TOKEN }),
      startInfluxDB3Server({ token: REMOTE_TOKEN }),
    ]);
    const written = await fetch(`${local.url}/api/v3/write_lp?db=edge&precision=nanosecond`, {
      method: "POST",
      body: CPU_LINES.join("\n"),
      headers: { authorization: `Bearer ${LOCAL_TOKEN}` },
    });
    expect(written.status, await written.text()).toBe(204);

    tarballs = await packPackages(join(work, "tarballs"));

    // An empty project with nothing of this repository above it: no package.json or node_modules to fall
    // back on, so every import resolves inside the install.
    project = join(work, "project");
    await mkdir(project);
    for (let dir = dirname(project); dir !== dirname(dir); dir = dirname(dir)) {
      for (const name of ["node_modules", "package.json"]) {
        expect(existsSync(join(dir, name)), `${join(dir, name)} would leak into the install`).toBe(false);
      }
    }
    await writeFile(
      join(project, "package.json"),
      `${JSON.stringify({ name: "edr-install-check", version: "1.0.0", private: true, type: "module" })}\n`,
    );
    // The compiler and Node's types at the versions this repository builds with, as a TypeScript user has them.
    const { devDependencies } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const install = await inProject("npm", [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      ...PUBLISHED_PACKAGES.map((name) => tarballs[name]),
      `typescript@${devDependencies["typescript"]}`,
      `@types/node@${devDependencies["@types/node"]}`,
    ]);
    expect(install.code, describeRun("npm install", install)).toBe(0);
  });

  afterAll(async () => {
    await Promise.all([local?.close(), remote?.close()]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("pass publint (strict) and attw (ESM-only profile)", async () => {
    const problems = await lintTarballs(tarballs);
    expect(problems).toEqual(Object.fromEntries(PUBLISHED_PACKAGES.map((name) => [name, []])));
  });

  it("ship dist with declarations, the sources their maps name, and no tests or workspace versions", async () => {
    for (const name of PUBLISHED_PACKAGES) {
      const entries = await readTarball(tarballs[name]);
      const files = new Map(entries.map((entry): [string, TarEntry] => [entry.path, entry]));
      const manifest = JSON.parse(files.get("package.json")!.content.toString("utf8")) as Record<
        string,
        unknown
      >;
      expect(manifest["exports"], name).toEqual({
        ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
      });
      expect(Object.keys((manifest["exports"] as Record<string, object>)["."]!)[0], name).toBe("types");
      expect(manifest["type"], name).toBe("module");
      expect(manifest["publishConfig"], name).not.toHaveProperty("exports");
      expect(JSON.stringify(manifest), name).not.toContain("workspace:");
      expect([...files.keys()], name).toEqual(expect.arrayContaining(["dist/index.js", "dist/index.d.ts"]));
      expect(
        [...files.keys()].filter((path) => /\.test\.|^test\/|^bench\//.test(path)),
        name,
      ).toEqual([]);
      // Every source a map points at is in the tarball (go to definition lands in the TypeScript source).
      for (const [path, entry] of files) {
        if (!path.endsWith(".map")) continue;
        const { sources } = JSON.parse(entry.content.toString("utf8")) as { sources: string[] };
        for (const source of sources) {
          expect(files.has(posix.join(posix.dirname(path), source)), `${name}: ${path} -> ${source}`).toBe(
            true,
          );
        }
      }
    }
  });

  it("ship the edr command executable, with a shebang, running the compiled CLI", async () => {
    const files = new Map((await readTarball(tarballs["edr-plugin"])).map((entry) => [entry.path, entry]));
    const manifest = JSON.parse(files.get("package.json")!.content.toString("utf8")) as {
      bin: Record<string, string>;
    };
    expect(manifest.bin).toEqual({ edr: "bin/edr.js" });
    const bin = files.get("bin/edr.js");
    expect(bin).toBeDefined();
    expect(bin!.mode & 0o111, "bin/edr.js is executable in the tarball").toBe(0o111);
    expect(bin!.content.toString("utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(bin!.content.toString("utf8")).toContain('import "../dist/cli/main.js"');
    expect(files.has("dist/cli/main.js")).toBe(true);
  });

  it("work through their public entry points, in a program compiled against the installed declarations", async () => {
    await copyFile(new URL("./consumer/main.ts", import.meta.url), join(project, "main.ts"));
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          lib: ["ES2023"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          types: ["node"],
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          verbatimModuleSyntax: true,
          // The installed declarations are checked too: a type they name from a package the install lacks
          // (a devDependency) is an error here, not a silent `any`.
          skipLibCheck: false,
        },
        files: ["main.ts"],
      }),
    );
    const tsc = await inProject(process.execPath, [
      join(project, "node_modules/typescript/bin/tsc"),
      "-p",
      ".",
    ]);
    expect(tsc.code, describeRun("tsc", tsc)).toBe(0);

    const program = await inProject(process.execPath, ["main.js"], {
      env: userEnv({
        EDR_CHECK_REMOTE_URL: remote.url,
        EDR_CHECK_REMOTE_TOKEN: REMOTE_TOKEN,
        EDR_CHECK_LOCAL_URL: local.url,
        EDR_CHECK_LOCAL_TOKEN: LOCAL_TOKEN,
        EDR_CHECK_DIR: join(work, "consumer"),
        EDR_CHECK_CALL_TIME: new Date(T0 + 10 * MIN).toISOString(),
      }),
    });
    expect(program.code, describeRun("node main.js", program)).toBe(0);
    expect(program.stdout.trim().split("\n")).toEqual([
      "ok edr-args: trigger arguments parsed, every problem reported",
      "ok edr-transform: lines parsed, renamed and formatted",
      "ok edr-queue: appended, read and acknowledged",
      "ok edr-sink: 1 line delivered, 1 rejected with the remote's reason",
      `ok edr-plugin: ${CPU_LINES.length} lines replicated, status healthy`,
    ]);
    expect(remote.points("sink_check")).toHaveLength(1);
    expect(remote.points("replica", "cpu_copy")).toHaveLength(CPU_LINES.length);
  });

  it("compile the examples of their installed READMEs", async () => {
    // Every ```ts block that imports an edr package is a whole program; the others are fragments.
    const dir = join(project, "readme");
    await mkdir(dir, { recursive: true });
    const examples: string[] = [];
    for (const name of PUBLISHED_PACKAGES) {
      const readme = await readFile(join(project, "node_modules", name, "README.md"), "utf8");
      for (const [index, match] of [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].entries()) {
        if (!/^import .* from "edr-[a-z]+";$/m.test(match[1]!)) continue;
        const file = `${name}-${index}.ts`;
        await writeFile(join(dir, file), match[1]!);
        examples.push(file);
      }
    }
    expect(examples.length, examples.join(", ")).toBeGreaterThanOrEqual(PUBLISHED_PACKAGES.length);
    await writeFile(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          lib: ["ES2023"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          types: ["node"],
          strict: true,
          noEmit: true,
        },
        include: ["*.ts"],
      }),
    );
    const tsc = await inProject(process.execPath, [
      join(project, "node_modules/typescript/bin/tsc"),
      "-p",
      dir,
    ]);
    expect(tsc.code, describeRun(`tsc (${examples.join(", ")})`, tsc)).toBe(0);
  });

  it("answer `npx edr --help` and `npx edr --version` from the install", async () => {
    const help = await inProject("npx", ["--no", "--", "edr", "--help"]);
    expect(help.code, describeRun("npx edr --help", help)).toBe(0);
    expect(help.stdout).toMatch(/^Usage: edr <command> \[options\]$/m);
    for (const command of ["schedule", "listen", "status", "queue inspect", "queue drain"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    }

    // The version is read from dist/cli/run.js as ../../package.json: the installed package's own.
    const installed = JSON.parse(
      await readFile(join(project, "node_modules/edr-plugin/package.json"), "utf8"),
    ) as { version: string };
    const version = await inProject("npx", ["--no", "--", "edr", "--version"]);
    expect(version.code, describeRun("npx edr --version", version)).toBe(0);
    expect(version.stdout.trim()).toBe(`edr ${installed.version}`);
  });

  it("replicate with `npx edr schedule --once` from the install", async () => {
    const once = await inProject(
      "npx",
      [
        "--no",
        "--",
        "edr",
        "schedule",
        "--once",
        "--call-time",
        new Date(T0 + 10 * MIN).toISOString(),
        "--local-url",
        local.url,
        "--local-db",
        "edge",
        "--queue-dir",
        join(work, "cli-queue"),
        "--status-address",
        "none",
        "--trigger-arguments",
        `host=${remote.url},database=replica_cli,tables=cpu,window=10min`,
      ],
      { env: userEnv({ EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN }) },
    );
    expect(once.code, describeRun("npx edr schedule --once", once)).toBe(0);
    expect(remote.points("replica_cli", "cpu")).toHaveLength(CPU_LINES.length);
    expect(once.stdout + once.stderr).not.toContain(REMOTE_TOKEN);
  });
});
