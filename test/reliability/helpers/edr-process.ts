// An `edr` command in a child process that a test kills with SIGKILL and starts again on the same queue
// directory, as a supervisor (systemd, a container runtime) would restart it. Built on edr-plugin's own
// `startEdr` (the command from source, `node --import tsx`, a clean environment).
import type { ReplicatorStatus } from "../../../packages/edr-plugin/src/replicator-types.js";
import { startEdr, type EdrChild } from "../../../packages/edr-plugin/test/edr-child.js";
import { until } from "./wait.js";

export type { EdrChild } from "../../../packages/edr-plugin/test/edr-child.js";
export type { ReplicatorStatus } from "../../../packages/edr-plugin/src/replicator-types.js";

/** `edr listen` is ready once it names the address clients write to (which also serves `/status`). */
export const LISTEN_READY = /point your clients at (http:\/\/127\.0\.0\.1:\d+)/;
/** `edr schedule` names its status address, then says it is running (the drain loop has started). */
export const SCHEDULE_STATUS = /status at (http:\/\/127\.0\.0\.1:\d+)\/status/;
export const SCHEDULE_READY = /edr schedule: running /;

/** One started `edr`: the child, the URL found in its output, and which start of the command it is (0 first). */
export interface StartedEdr {
  readonly child: EdrChild;
  /** `edr listen`: where clients write and `/status` is; `edr schedule`: where `/status` is. */
  readonly url: string;
  readonly generation: number;
  /** When it said it was ready (epoch ms). */
  readonly readyAtMs: number;
}

/** How to start the command: its arguments, environment and the lines that say where and when it is ready. */
export interface EdrCommand {
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  /** The first group is the URL. */
  readonly urlPattern: RegExp;
  /** Printed once it is ready (default: `urlPattern`). */
  readonly readyPattern?: RegExp;
  readonly readyTimeoutMs?: number;
}

/** Starts `edr` and resolves once it is ready. */
export async function startEdrCommand(command: EdrCommand, generation = 0): Promise<StartedEdr> {
  const child = startEdr(command.args, command.env);
  try {
    const timeout = command.readyTimeoutMs ?? 30_000;
    await child.waitFor(command.urlPattern, timeout);
    if (command.readyPattern !== undefined) await child.waitFor(command.readyPattern, timeout);
  } catch (error) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
    await child.exited;
    throw error;
  }
  const match = command.urlPattern.exec(child.stderr()) ?? command.urlPattern.exec(child.stdout());
  return { child, url: match![1]!, generation, readyAtMs: Date.now() };
}

/**
 * The command under a supervisor: started, SIGKILLed, started again. While it is down (between `kill()` and
 * the end of `restart()`), `ready()` waits, so clients send their next attempt to the next process.
 */
export class KilledAndRestarted {
  private current: StartedEdr | undefined;
  private generation = 0;
  private waiters: (() => void)[] = [];
  /** Every process started, the current one last (the output of each stays readable for a failure's message). */
  readonly started: StartedEdr[] = [];

  constructor(private readonly command: EdrCommand) {}

  async start(): Promise<StartedEdr> {
    const started = await startEdrCommand(this.command, this.generation);
    this.started.push(started);
    this.current = started;
    for (const wake of this.waiters.splice(0)) wake();
    return started;
  }

  /** The running process, once there is one. */
  async ready(): Promise<StartedEdr> {
    while (this.current === undefined) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.current;
  }

  /** The running process, or undefined while it is down. */
  get running(): StartedEdr | undefined {
    return this.current;
  }

  /** SIGKILL, and wait until it is gone (its sockets closed, its lock file left behind). */
  async kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const victim = this.current;
    if (victim === undefined) throw new Error("kill(): no edr is running");
    this.current = undefined;
    this.generation++;
    victim.child.process.kill("SIGKILL");
    return victim.child.exited;
  }

  /** SIGTERM: the command finishes what it is doing and exits; resolves with how it ended. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const victim = this.current;
    if (victim === undefined) throw new Error("terminate(): no edr is running");
    this.current = undefined;
    victim.child.process.kill("SIGTERM");
    return victim.child.exited;
  }

  /** Kills whatever still runs (cleanup after a failure). */
  async dispose(): Promise<void> {
    this.current = undefined;
    for (const { child } of this.started) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
      await child.exited;
    }
  }

  /** The output of the last `n` processes, for a failure's message. */
  output(n = 2): string {
    return this.started
      .slice(-n)
      .map(
        (s) =>
          `--- edr #${s.generation} stderr ---\n${s.child.stderr()}\n--- stdout ---\n${s.child.stdout()}`,
      )
      .join("\n");
  }
}

/** `GET <url>/status`. */
export async function fetchStatus(url: string): Promise<ReplicatorStatus> {
  const res = await fetch(`${url}/status`);
  if (res.status !== 200) throw new Error(`GET ${url}/status: ${res.status} ${await res.text()}`);
  return (await res.json()) as ReplicatorStatus;
}

/**
 * Lines edr took for the remote: accepted into its queue, or (edr listen without downsampling) received and
 * waiting in its received log for the next flush to move them there. Counted out of the one as into the other,
 * so the sum never counts a line twice or misses one that was taken.
 */
export function takenLines(status: ReplicatorStatus): number {
  return status.lines.accepted + (status.intake?.entries ?? 0);
}

/** `GET <url>/status` once edr listen (without downsampling) has moved every write it received on to its queue. */
export async function settledStatus(url: string, timeoutMs = 30_000): Promise<ReplicatorStatus> {
  let status = await fetchStatus(url);
  await until(
    "the received writes moved to the queue",
    async () => (status = await fetchStatus(url)).intake?.entries === 0,
    timeoutMs,
    () => JSON.stringify(status),
    50,
  );
  return status;
}
