// `pnpm start` in this example (or `tsx src/run.ts`): runs `edr schedule` with the settings of the README,
// read from the environment, as `npx edr schedule …` would. Extra arguments are passed on (`pnpm start --once`).
//
//   EDR_LOCAL_URL          the local InfluxDB 3 (default http://127.0.0.1:8181)
//   EDR_LOCAL_DB           the local database (default mydb)
//   EDR_TRIGGER_SPEC       when to run (default every:10s)
//   EDR_TRIGGER_ARGUMENTS  the Python plugin's trigger arguments (host=…,database=…,tables=…,window=10s)
//   EDR_REMOTE_TOKEN, EDR_LOCAL_TOKEN, PLUGIN_DIR: read by edr itself
import { spawn } from "node:child_process";
import { edrCommand } from "./edr-command.js";

const env = process.env;
const triggerArguments = env["EDR_TRIGGER_ARGUMENTS"];
if (triggerArguments === undefined || triggerArguments === "") {
  console.error(
    "set EDR_TRIGGER_ARGUMENTS, e.g. host=https://central:8181,database=replica,tables=cpu.mem,window=10s",
  );
  process.exit(2);
}

const [program, ...prefix] = edrCommand();
const args = [
  ...prefix,
  "schedule",
  "--trigger-spec",
  env["EDR_TRIGGER_SPEC"] ?? "every:10s",
  "--local-url",
  env["EDR_LOCAL_URL"] ?? "http://127.0.0.1:8181",
  "--local-db",
  env["EDR_LOCAL_DB"] ?? "mydb",
  "--trigger-arguments",
  triggerArguments,
  ...process.argv.slice(2),
];
// Its own process group, so Ctrl-C reaches it once (forwarded from here), not twice: edr finishes the current
// run on the first SIGINT/SIGTERM and exits at once on the second.
const child = spawn(program!, args, { stdio: "inherit", detached: true });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("close", (code, signal) => {
  process.exitCode = code ?? (signal === null ? 1 : 128);
});
