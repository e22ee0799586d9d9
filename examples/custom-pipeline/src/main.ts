// `tsx src/main.ts <settings.json> [file.lp …]`: one run of the pipeline over the files (none: only sends what
// earlier runs left queued). Prints what it did; exits 0 when every remote's queue is empty, 1 when lines are
// left queued for the next run (saying why), 2 when the settings are wrong.
import { readSettings } from "./config.js";
import { runPipeline, type RunReport } from "./pipeline.js";

const [settingsPath, ...inputs] = process.argv.slice(2);
if (settingsPath === undefined) {
  console.error("usage: tsx src/main.ts <settings.json> [file.lp …]");
  process.exit(2);
}

let settings;
try {
  settings = await readSettings(settingsPath, process.env);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}

const report = await runPipeline(settings, inputs);
console.log(formatReport(report));
process.exitCode = report.remotes.every((remote) => remote.left === 0) ? 0 : 1;

function formatReport(report: RunReport): string {
  const lines = [
    `read ${report.read} lines: ${report.invalid.length} invalid, ${report.skipped} of other tables, ` +
      `${report.downsampled} downsampled into ${report.emitted} points`,
    ...report.invalid.map((problem) => `  invalid: ${problem}`),
    ...report.problems.map((problem) => `  not aggregated: ${problem}`),
  ];
  for (const remote of report.remotes) {
    const outcome = remote.left === 0 ? "queue empty" : `${remote.left} left queued: ${remote.reason}`;
    lines.push(
      `${remote.name}: queued ${remote.queued}, delivered ${remote.delivered}, ` +
        `dead-lettered ${remote.deadLettered}; ${outcome}`,
    );
  }
  return lines.join("\n");
}
