// Runs the `edr` command in a child process, from source, as a user's shell would run it.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

/** A running `edr`: what it printed so far, and its end. */
export interface EdrChild {
  readonly process: ChildProcessByStdio<null, Readable, Readable>;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr or stdout holds a match of `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The exit code (null when ended by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `edr <args>` with `env` added to a clean environment (no token leaks in from the caller's). */
export function startEdr(args: readonly string[], env: Record<string, string> = {}): EdrChild {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
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
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`edr did not print ${pattern} within ${timeoutMs} ms:\n${err}\n${out}`));
        }, timeoutMs);
        const check = () => {
          if (pattern.test(err) || pattern.test(out)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          } else if (closed) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`edr exited before printing ${pattern}:\n${err}\n${out}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs `edr <args>` to its end. */
export async function runEdr(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startEdr(args, env);
  const { code } = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}
