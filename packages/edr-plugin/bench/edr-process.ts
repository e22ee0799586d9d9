// `edr` in a child process, as a user runs it: the real command from source (`node --import tsx
// src/cli/main.ts …`), or the bench's own composition of `edr listen` (onwrite-child.ts, for an fsync policy
// the command has no flag for). Its log goes to a buffer (EDR_BENCH_VERBOSE=1: also to stderr), kept for
// the error when it fails. EDR_BENCH_PROFILE=<dir> profiles each child (`--cpu-prof`);
// EDR_BENCH_EDR_NODE_OPTIONS is passed to each as NODE_OPTIONS; EDR_BENCH_EDR_BIN runs a built `edr`. Shared by the on-write and catch-up benches.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import * as http from "node:http";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { ReplicatorStatus } from "../src/replicator-types.js";
import { readStatusKb } from "./backlog-rss.js";
import { LOCAL_DB, REMOTE_DB, REMOTE_TOKEN } from "./onwrite-data.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const CHILD = fileURLToPath(new URL("./onwrite-child.ts", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const VERBOSE = process.env.EDR_BENCH_VERBOSE === "1";
/** EDR_BENCH_EDR_NODE_OPTIONS: NODE_OPTIONS of every `edr` child (`--max-old-space-size=…`), to see what its memory is. */
const NODE_OPTIONS = process.env.EDR_BENCH_EDR_NODE_OPTIONS;
/**
 * EDR_BENCH_EDR_BIN: a built `edr` (a `bin/edr.js` whose packages were compiled to dist/) run with plain node
 * instead of the source with tsx, as a user's install runs it; the bench's own children stay on tsx.
 */
const EDR_BIN = process.env.EDR_BENCH_EDR_BIN || undefined;
/** EDR_BENCH_PROFILE=<dir>: every `edr` child runs with `--cpu-prof`, leaving its CPU profile in <dir>. */
const PROFILE_DIR = process.env.EDR_BENCH_PROFILE;
/** How much of the child's log is kept for an error message. */
const LOG_TAIL_CHARS = 8192;

/** A running `edr` child. */
export interface EdrProcess {
  readonly pid: number;
  /** The tail of what it printed (stderr and stdout). */
  log(): string;
  /** Whether it has exited. */
  ended(): boolean;
  /** Its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** A running `edr listen` (or the bench's composition of it). */
export interface ListenProcess extends EdrProcess {
  /** Where clients write, and `/status` is served. */
  readonly url: string;
  status(): Promise<ReplicatorStatus>;
  /** Its peak RSS so far (VmHWM), MB; NaN where /proc cannot tell. */
  hwmMb(): Promise<number>;
}

/**
 * How `edr listen` runs: the command itself, or onwrite-child.ts with a queue fsync policy (and, as
 * experiments, with its delivery kept running across flushes, or with one queue instead of two).
 */
export type ListenKind =
  "cli" | "child-always" | "child-never" | "child-keep-delivery" | "child-single-queue";

/**
 * Starts `edr <args>` from source (or the built `bin`) with the remote's token in the environment, nothing
 * else of ours.
 */
export function startEdr(
  args: readonly string[],
  script = MAIN,
  bin = EDR_BIN,
  env: Record<string, string> = {},
): EdrProcess {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [
      ...(PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`]),
      ...(script === MAIN && bin !== undefined ? [bin] : ["--import", "tsx", script]),
      ...args,
    ],
    {
      cwd: PACKAGE_DIR,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        EDR_REMOTE_TOKEN: REMOTE_TOKEN,
        ...env,
        ...(NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS }),
      },
    },
  );
  let tail = "";
  const keep = (piece: Buffer) => {
    const text = piece.toString("utf8");
    if (VERBOSE) process.stderr.write(text);
    tail = (tail + text).slice(-LOG_TAIL_CHARS);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => {
      ended = true;
      resolve({ code, signal });
    }),
  );
  return {
    pid: child.pid!,
    ended: () => ended,
    log: () => tail,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Starts `edr listen` on a free port in front of `localUrl`, replicating to `remoteUrl`, with `extraFlags`
 * (the command only); resolves once it listens.
 */
export async function startListen(
  kind: ListenKind,
  localUrl: string,
  remoteUrl: string,
  queueDir: string,
  extraFlags: readonly string[] = [],
): Promise<ListenProcess> {
  const edr =
    kind === "cli"
      ? startEdr([
          "listen",
          "--trigger-arguments",
          `host=${remoteUrl},database=${REMOTE_DB}`,
          "--local-url",
          localUrl,
          "--local-db",
          LOCAL_DB,
          "--queue-dir",
          queueDir,
          "--listen",
          "127.0.0.1:0",
          ...extraFlags,
        ])
      : startEdr(
          [
            localUrl,
            remoteUrl,
            queueDir,
            kind === "child-never" ? "never" : "always",
            ...(kind === "child-keep-delivery" ? ["keep-delivery"] : []),
            ...(kind === "child-single-queue" ? ["single-queue"] : []),
          ],
          CHILD,
        );
  const url = await Promise.race([
    waitForUrl(edr),
    edr.exited.then(({ code, signal }) => {
      throw new Error(`edr listen exited (${code ?? signal}) before listening:\n${edr.log()}`);
    }),
  ]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    ...edr,
    url,
    status: () => getJson(agent, `${url}/status`) as Promise<ReplicatorStatus>,
    hwmMb: async () => ((await readStatusKb(edr.pid))?.hwm ?? NaN) / 1024,
    stop: async () => {
      agent.destroy();
      await edr.stop();
    },
  };
}

async function waitForUrl(edr: EdrProcess): Promise<string> {
  while (!edr.ended()) {
    const match = /edr listen: (http:\/\/\S+) in front of/.exec(edr.log());
    if (match !== null) return match[1]!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return "";
}

function getJson(agent: http.Agent, url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const pieces: Buffer[] = [];
        res.on("data", (piece: Buffer) => pieces.push(piece));
        res.on("end", () => {
          const text = Buffer.concat(pieces).toString("utf8");
          if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

/** Lines the remote still lacks: queued, or in the intake waiting for the next flush. */
export function undelivered(status: ReplicatorStatus): number {
  return status.lines.queued + (status.intake?.entries ?? 0);
}
