import { spawn, type ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { RealServerError } from "./errors.js";

const TEMP_PREFIX = "edr-testkit-";
const OWNER_FILE = "owner.pid";
const SERVER_PID_FILE = "server.pid";
const LOG_TAIL_BYTES = 4000;
const POLL_INTERVAL_MS = 50;
// util-linux's setpriv (Essential on Debian) makes the kernel SIGKILL the server when the test runner dies,
// even by SIGKILL, where no exit handler runs.
const SETPRIV = "/usr/bin/setpriv";

/** How to run one server process. */
export interface ProcessSpec {
  /** Short name for messages and the temp dir, e.g. `influxdb1`. */
  name: string;
  command: string;
  /** Arguments; may use the temp dir returned by {@link createServerDir}. */
  args: string[];
  dir: string;
  /** Polled with GET until it answers 2xx. */
  readyUrl: string;
  readyTimeoutMs: number;
  stopGraceMs: number;
}

/** A started server process, stopped by PID. */
export interface ManagedProcess {
  pid: number;
  logPath: string;
  stop(): Promise<void>;
}

interface Live {
  pid: number;
  dir: string;
  exited: boolean;
}

// Shared through globalThis: vitest may load this module once per project, but the exit handlers must be
// installed once and must see every server of the process.
const REGISTRY_KEY = Symbol.for("edr-testkit.real-servers.live");
type Registry = Set<Live>;

function registry(): Registry {
  const holder = globalThis as { [REGISTRY_KEY]?: Registry };
  let live = holder[REGISTRY_KEY];
  if (live === undefined) {
    live = new Set();
    holder[REGISTRY_KEY] = live;
    installExitHandlers(live);
  }
  return live;
}

function killAllNow(live: Registry): void {
  for (const server of live) {
    if (!server.exited) {
      try {
        process.kill(server.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(server.dir, { recursive: true, force: true });
  }
  live.clear();
}

function installExitHandlers(live: Registry): void {
  // 'exit' handlers must be synchronous: kill by PID and remove the data dirs right here.
  process.on("exit", () => killAllNow(live));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAllNow(live);
      process.removeListener(signal, onSignal);
      // Listening to a signal cancels Node's default exit; restore it unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes temp dirs left by test runs that died without cleaning up (SIGKILL, power loss), killing their
 * server if it still runs there.
 */
function sweepStaleDirs(): void {
  const root = tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(TEMP_PREFIX)) continue;
    const dir = join(root, entry);
    const owner = readPid(join(dir, OWNER_FILE));
    if (owner === undefined || isAlive(owner)) continue;
    const server = readPid(join(dir, SERVER_PID_FILE));
    if (server !== undefined && commandLineMentions(server, dir)) {
      try {
        process.kill(server, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function commandLineMentions(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
  } catch {
    return false;
  }
}

/** Creates a fresh temp dir for one server (after sweeping dirs of dead runs) and records who owns it. */
export function createServerDir(name: string): string {
  sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${name}-`));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

/** The last few KiB of a log file, for error messages. */
export function readLogTail(logPath: string): string {
  try {
    const text = readFileSync(logPath, "utf8");
    return text.length > LOG_TAIL_BYTES ? `…${text.slice(-LOG_TAIL_BYTES)}` : text;
  } catch {
    return "(no log)";
  }
}

/**
 * Starts `spec.command`, sends its stdout and stderr to `server.log` in its dir, and waits until
 * `spec.readyUrl` answers. On failure the process is killed, the dir removed, and the error carries the
 * log tail.
 */
export async function startProcess(spec: ProcessSpec): Promise<ManagedProcess> {
  const live = registry();
  const logPath = join(spec.dir, "server.log");
  const logFd = openSync(logPath, "a");
  const [command, args] = existsSync(SETPRIV)
    ? [SETPRIV, ["--pdeathsig", "KILL", "--", spec.command, ...spec.args]]
    : [spec.command, spec.args];
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: spec.dir, stdio: ["ignore", logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const entry: Live = { pid: -1, dir: spec.dir, exited: false };
  let exitDescription = "";
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      entry.exited = true;
      exitDescription = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      resolve();
    });
    child.once("error", (error) => {
      entry.exited = true;
      exitDescription = `spawn error: ${error.message}`;
      resolve();
    });
  });
  // Scripts that forget stop() still end; the exit handler then kills the server.
  child.unref();

  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    rmSync(spec.dir, { recursive: true, force: true });
    throw new RealServerError(
      "START_FAILED",
      `[edr-testkit] [${spec.name}] could not start ${spec.command}: ${exitDescription}`,
    );
  }
  entry.pid = pid;
  live.add(entry);
  writeFileSync(join(spec.dir, SERVER_PID_FILE), String(pid));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!entry.exited) {
        signalPid(pid, "SIGTERM");
        const graceful = await Promise.race([exited.then(() => true), sleep(spec.stopGraceMs, false)]);
        if (!graceful) {
          signalPid(pid, "SIGKILL");
          await exited;
        }
      }
      live.delete(entry);
      rmSync(spec.dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + spec.readyTimeoutMs;
  for (;;) {
    if (entry.exited) {
      const tail = readLogTail(logPath);
      await stop();
      throw new RealServerError(
        "START_FAILED",
        `[edr-testkit] [${spec.name}] ${spec.command} exited before it was ready (${exitDescription}). ` +
          `Its log:\n${tail}`,
      );
    }
    if (await answers(spec.readyUrl)) return { pid, logPath, stop };
    if (Date.now() >= deadline) {
      const tail = readLogTail(logPath);
      await stop();
      throw new RealServerError(
        "NOT_READY",
        `[edr-testkit] [${spec.name}] ${spec.readyUrl} did not answer within ${spec.readyTimeoutMs} ms. ` +
          `Its log:\n${tail}`,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // it exited between the check and the signal
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
