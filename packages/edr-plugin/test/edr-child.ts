// Runs the `edr` command in a child process, from source, as a user's shell would run it.
import { fileURLToPath } from "node:url";
import { runEdr as run, startEdr as start, type EdrChild } from "edr-testkit/edr-command";

export type { EdrChild } from "edr-testkit/edr-command";

/** This package's command from source (tsx): no build needed. */
const EDR = [
  process.execPath,
  "--import",
  "tsx",
  fileURLToPath(new URL("../src/cli/main.ts", import.meta.url)),
];
/** Long enough for any run a test makes; the test's own timeout ends it sooner. */
const RUN_TIMEOUT_MS = 10 * 60_000;

/** Starts `edr <args>` with `env` added to a clean environment (no token leaks in from the caller's). */
export function startEdr(args: readonly string[], env: Record<string, string> = {}): EdrChild {
  return start(EDR, args, env);
}

/** Runs `edr <args>` to its end. */
export function runEdr(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(EDR, args, env, RUN_TIMEOUT_MS);
}
