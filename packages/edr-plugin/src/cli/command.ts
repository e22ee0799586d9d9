import { ArgsError, type ScheduledConfig, type WritesConfig } from "edr-args";
import type { ReplicatorLogger } from "../logger.js";
import { EXIT_USAGE, type CliIo } from "./io.js";

/** What a command gets: its flags read, the process's streams, a logger, and the shared ways to fail. */
export interface CommandContext {
  /** The command's words, for messages (`queue drain`). */
  readonly name: string;
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly io: CliIo;
  readonly logger: ReplicatorLogger;
  /** Every problem of the command line so far (the flags', then each check's): all are printed at once. */
  readonly problems: string[];
  /** Runs `build`; an `ArgsError` adds its problems (one line each) to `problems` and gives undefined. */
  config<T>(build: () => T): T | undefined;
  /** Prints every problem and where the help is; returns the exit code 2. */
  usageError(): number;
}

/** Builds the context of one command. */
export function createContext(
  name: string,
  parts: Pick<CommandContext, "flags" | "positionals" | "io" | "logger" | "problems">,
): CommandContext {
  const problems = parts.problems;
  return {
    name,
    ...parts,
    config(build) {
      try {
        return build();
      } catch (error) {
        if (!(error instanceof ArgsError)) throw error;
        for (const issue of error.issues) problems.push(issue.message);
        return undefined;
      }
    },
    usageError() {
      const head = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
      parts.io.stderr(
        `edr ${name}: ${head} in the arguments:\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
          `Run \`edr ${name} --help\` for the options and examples.\n`,
      );
      return EXIT_USAGE;
    },
  };
}

/** A line for a person on stderr (stdout is kept for results). */
export function say(io: CliIo, text: string): void {
  io.stderr(`${text}\n`);
}

/** Where a config replicates to and queues in, in one line (never the token). */
export function describeQueue(config: ScheduledConfig | WritesConfig): string {
  const local =
    config.local.database === undefined ? "" : `${config.local.url} database ${config.local.database} -> `;
  return (
    `${local}${config.remote.url} database ${config.remote.database}, ` +
    `queue ${config.queue.dir}/${config.queue.fileName}`
  );
}

/** What SIGINT/SIGTERM do while a command works: the first stops gracefully, the second exits at once. */
export interface SignalPlan {
  /** Aborts at the first signal. */
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * The first SIGINT or SIGTERM aborts `signal` (the command finishes `what` and exits 0); a second one exits
 * at once with 130, which loses nothing: every line acknowledged to anyone is already on disk.
 */
export function signalPlan(io: CliIo, what: string): SignalPlan {
  const controller = new AbortController();
  const dispose = io.onSignal((name) => {
    if (!controller.signal.aborted) {
      say(io, `edr: ${name} received: finishing ${what}, then exiting (send it again to exit at once)`);
      controller.abort();
      return;
    }
    say(io, `edr: ${name} received again: exiting now; queued lines stay on disk for the next start`);
    io.exit(130);
  });
  return { signal: controller.signal, dispose };
}
