// The `edr` command: `bin/edr.js` runs this compiled; in the workspace, `pnpm edr …` runs it from source.
import { setFlagsFromString } from "node:v8";
import { processIo } from "./io.js";
import { runEdr } from "./run.js";

// Edge devices count memory: V8 by default lets the old generation grow to about 4x what survived the last full
// collection when allocation is fast, as when a backlog drains (lines in flight are short-lived but outlive
// the young generation). 1.5x halves the peak RSS of draining 5,000,000 lines (~250 -> ~165 MB) for
// some drain speed; see BENCHMARKS.md. Only the command sets it: a program embedding edr-plugin keeps its own.
setFlagsFromString("--heap-growing-percent=50");

process.exitCode = await runEdr(process.argv.slice(2), processIo());
