/** What a command reads and writes besides its arguments: injectable, so commands run in tests as in a shell. */
export interface CliIo {
  /** Results a script may read (a table, JSON). */
  stdout(text: string): void;
  /** Logs, progress and errors, for a person. */
  stderr(text: string): void;
  /** Where `EDR_REMOTE_TOKEN`, `EDR_LOCAL_TOKEN` and `PLUGIN_DIR` come from. */
  env: Readonly<Record<string, string | undefined>>;
  /** Registers what SIGINT and SIGTERM do; returns the function that unregisters it. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
  /** Ends the process at once (a second signal): the queue is durable, so nothing is lost. */
  exit(code: number): never;
}

/** The process's own streams, environment and signals. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    onSignal(handler) {
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      };
    },
    exit: (code) => process.exit(code),
  };
}

/** Exit codes: 0 done, 1 a runtime failure (said in one line), 2 bad arguments (every problem listed). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
