// Runs test/stores-crash-child.ts and kills it with SIGKILL at a random moment.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./stores-crash-child.ts", import.meta.url));

/** Starts the crash child, kills it 5-80 ms after it is ready, and returns the last value it reported. */
export async function runChildUntilKilled(args: string[]): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("exit", (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.startsWith("ready\n")) {
        setTimeout(() => child.kill("SIGKILL"), 5 + Math.random() * 75);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`child exited before it was ready: ${err}`)));
  });
  const signal = await exited;
  if (signal !== "SIGKILL") throw new Error(`child ended by ${signal ?? "exit"}, not SIGKILL: ${err}`);
  const reports = out.split("\n").filter((line) => /^\w+ \d+$/.test(line));
  return reports.length === 0 ? -1 : Number(reports[reports.length - 1]!.split(" ")[1]);
}
