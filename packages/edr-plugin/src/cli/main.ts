// The `edr` command: `bin/edr.js` runs this compiled; in the workspace, `pnpm edr …` runs it from source.
import { setFlagsFromString } from "node:v8";
import { processIo } from "./io.js";
import { runEdr } from "./run.js";

// Edge devices count memory: V8 by default lets the old generation grow to about 4x what survived the last full
// collection when allocation is fast, as when a backlog drains (lines in flight are short-lived but outlive
// the young generation). 1.5x halves the peak RSS of draining 5,000,000 lines (~250 -> ~165 MB) for
// some drain speed; see BENCHMARKS.md. `edr listen` answers writers, and every collection is time they wait:
// 2x keeps its writers' wait 1.38x the direct write's instead of 1.45x, for ~30 MB more at its peak (~240 MB).
// Only the command sets it: a program embedding edr-plugin keeps its own.
const heapGrowingPercent = process.argv[2] === "listen" ? 100 : 50;
setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);

process.exitCode = await runEdr(process.argv.slice(2), processIo());
