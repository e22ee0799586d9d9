// pnpm bench: edr-plugin's figures, one JSON line each, every figure beside its baseline from the same run.
// - jsonl.ts: parsing the SQL endpoint's JSON lines (the scanner beside lossless-json and JSON.parse);
// - scheduled.ts: a scheduled call end to end between two edr-testkit servers, beside its pieces alone;
// - onwrite.ts: clients writing through `edr listen` until the remote holds every line, beside the same
//   clients writing straight to the local server, and the durable queue's cost (fsync on vs off);
// - catchup.ts: how fast a backlog drains after an outage of the remote while writes go on, and the peak
//   memory of `edr queue drain` sending a 5,000,000-line backlog.
// `tsx bench/index.ts jsonl` (or `scheduled`, `onwrite`, `catchup`, several) runs those groups; no argument
// runs them all (progress on stderr, figures on stdout).
import { runCatchupBench } from "./catchup.js";
import { runJsonlBench } from "./jsonl.js";
import { runOnwriteBench } from "./onwrite.js";
import { runScheduledBench } from "./scheduled.js";

const groups: Record<string, () => Promise<void>> = {
  jsonl: runJsonlBench,
  scheduled: runScheduledBench,
  onwrite: runOnwriteBench,
  catchup: runCatchupBench,
};
const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!(name in groups))
    throw new Error(`unknown bench group ${name}: expected ${Object.keys(groups).join(", ")}`);
}
for (const [name, run] of Object.entries(groups)) {
  if (chosen.length === 0 || chosen.includes(name)) await run();
}
