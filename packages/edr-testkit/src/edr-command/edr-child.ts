// Runs `edr` in a child process, as a shell would, with a clean environment: no token of the caller's leaks in.
// edr-plugin is found from the caller (this kit does not depend on it).
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";

/**
 * The `edr` command as `[program, ...args]`, edr-plugin resolved from `from` (the caller's `import.meta.url`):
 * from source through tsx in this repository (where edr-plugin's entry is `src/index.ts`, so `pnpm edr` needs
 * no build), or the compiled `dist/cli/main.js` of an install from npm, which is what `npx edr` runs.
 */
export function edrCommand(from: string | URL): string[] {
  const entry = createRequire(from).resolve("edr-plugin");
  const source = join(dirname(entry), "cli", "main.ts");
  if (existsSync(source)) return [process.execPath, "--import", "tsx", source];
  return [process.execPath, join(dirname(entry), "cli", "main.js")];
}

/** A running `edr`: what it printed so far, and its end. */
export interface EdrChild {
  readonly process: ChildProcessByStdio<null, Readable, Readable>;
  /** stdout and stderr as printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr or stdout; rejects on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, as systemd or Ctrl-C would; resolves with the exit code. */
  stop(): Promise<number | null>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `command` (see {@link edrCommand}) with `args`, and only PATH, HOME and `env` in its environment. */
export function startEdr(
  command: readonly string[],
  args: readonly string[],
  env: Record<string, string> = {},
): EdrChild {
  const [program, ...prefix] = command;
  const child = spawn(program!, [...prefix, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...env },
  });
  let out = "";
  let err = "";
  let closed = false;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((check) => check());
  child.stdout.on("data", (chunk: Buffer) => ((out += chunk.toString()), notify()));
  child.stderr.on("data", (chunk: Buffer) => ((err += chunk.toString()), notify()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      closed = true;
      notify();
      resolve({ code, signal });
    }),
  );
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (!closed) child.kill("SIGTERM");
      return (await exited).code;
    },
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`edr did not print ${pattern} within ${timeoutMs} ms:\n${err}\n${out}`));
        }, timeoutMs);
        const check = () => {
          const found = pattern.exec(err) ?? pattern.exec(out);
          if (found !== null || closed) {
            clearTimeout(timer);
            waiters.delete(check);
            if (found !== null) resolve(found);
            else reject(new Error(`edr exited before printing ${pattern}:\n${err}\n${out}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs `command` with `args` to its end (killed after `timeoutMs`). */
export async function runEdr(
  command: readonly string[],
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startEdr(command, args, env);
  const timer = setTimeout(() => child.process.kill("SIGKILL"), timeoutMs);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}
