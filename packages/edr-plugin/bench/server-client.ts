// The bench's side of server-process.ts: forks an edr-testkit server into a process of its own and talks to
// it over IPC. Shared by the scheduled, on-write and catch-up benches.
import { fork } from "node:child_process";
import type { ServerMessage, ServerReply } from "./server-process.js";

/** A server process (server-process.ts) and its IPC. */
export interface ServerProcess {
  /** The URL to use: the replaying front of the local server, the server itself for the remote. */
  url: string;
  /** The edr-testkit server itself. */
  serverUrl: string;
  call(message: Omit<ServerMessage, "id">): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Forks server-process.ts with `token` (every request needs it); with `replay`, `url` is the front that
 * replays `query_sql` answers; `writeDelayMs` delays every write's answer. Resolves once the server listens.
 */
export async function startServerProcess(
  token: string,
  replay: boolean,
  writeDelayMs = 0,
): Promise<ServerProcess> {
  const args = [token, replay ? "replay" : "", String(writeDelayMs)];
  const child = fork(new URL("./server-process.ts", import.meta.url), args, {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // The test server keeps about 1.3 KB a point once parsed: 9 hours of the table outgrow the default heap.
    execArgv: [...process.execArgv, "--max-old-space-size=16384"],
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  child.on("message", (reply: ServerReply) => {
    const waiting = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiting?.reject(new Error(`server process: ${reply.error}`));
    else waiting?.resolve(reply.value);
  });
  child.on("exit", (code, signal) => {
    for (const waiting of pending.values())
      waiting.reject(new Error(`server process exited (${code ?? signal})`));
    pending.clear();
  });
  const started = new Promise<unknown>((resolve, reject) => pending.set(0, { resolve, reject }));
  const { url, serverUrl } = (await started) as { url: string; serverUrl: string };
  const call = (message: Omit<ServerMessage, "id">) =>
    new Promise<unknown>((resolve, reject) => {
      if (!child.connected) {
        reject(new Error(`server process gone (exit ${child.exitCode ?? child.signalCode})`));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...message, id });
    });
  return {
    url,
    serverUrl,
    call,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      await call({ op: "close" }).catch(() => child.kill());
      await exited;
    },
  };
}
