import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import type { ReplicatorStatus } from "edr-plugin";

/** A running `edr` command, started as a user starts it, with its status address once it printed it. */
export interface EdrProcess {
  readonly name: string;
  /** `http://127.0.0.1:PORT` where it serves `/status` and `/metrics`. */
  readonly statusUrl: string;
  status(): Promise<ReplicatorStatus>;
  /** SIGTERM, as Ctrl-C would; resolves with the exit code. */
  stop(): Promise<number | null>;
}

// The command from source (the published package runs the same code compiled, as `edr`).
const require = createRequire(import.meta.url);
const EDR_MAIN = join(dirname(require.resolve("edr-plugin")), "cli", "main.ts");

/**
 * Starts `edr <args>` and resolves once it prints the address of its status; each line it logs goes to `say`
 * when `show` keeps it, prefixed with the command's name.
 */
export function startEdr(
  name: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { say: (line: string) => void; show: (line: string) => boolean },
): Promise<EdrProcess> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    ["--import", "tsx", EDR_MAIN, ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let pending = "";
    let output = "";
    let statusUrl: string | undefined;
    child.stderr.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      output += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (options.show(line))
          options.say(`   ${name.padEnd(8)} ${line.replace(/^\S+Z (INFO |WARN |ERROR) ?/, "$1 ")}`);
        const found = /(?:status at|clients at) (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (found !== null && statusUrl === undefined) {
          statusUrl = found[1]!;
          resolve({
            name,
            statusUrl,
            async status() {
              const response = await fetch(`${statusUrl}/status`);
              return (await response.json()) as ReplicatorStatus;
            },
            async stop() {
              child.kill("SIGTERM");
              return exited;
            },
          });
        }
      }
    });
    void exited.then((code) => {
      if (statusUrl === undefined)
        reject(new Error(`edr ${name} exited (${code}) before it was ready:\n${output}`));
    });
  });
}
