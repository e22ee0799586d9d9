// pnpm bench: edr-plugin's figures, one JSON line each, every figure beside its baseline from the same run.
// - jsonl.ts: parsing the SQL endpoint's JSON lines (the scanner beside lossless-json and JSON.parse);
// - scheduled.ts: a scheduled call end to end between two edr-testkit servers, beside its pieces alone.
// `tsx bench/index.ts jsonl` (or `scheduled`) runs one group; no argument runs both.
import { runJsonlBench } from "./jsonl.js";
import { runScheduledBench } from "./scheduled.js";

const groups: Record<string, () => Promise<void>> = {
  jsonl: runJsonlBench,
  scheduled: runScheduledBench,
};
const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!(name in groups))
    throw new Error(`unknown bench group ${name}: expected ${Object.keys(groups).join(" or ")}`);
}
for (const [name, run] of Object.entries(groups)) {
  if (chosen.length === 0 || chosen.includes(name)) await run();
}
