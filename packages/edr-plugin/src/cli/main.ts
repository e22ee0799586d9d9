// The `edr` command: `bin/edr.js` runs this compiled; in the workspace, `pnpm edr …` runs it from source.
import { processIo } from "./io.js";
import { runEdr } from "./run.js";

process.exitCode = await runEdr(process.argv.slice(2), processIo());
