import { runDemo } from "./demo.js";

// `pnpm demo`: tell the story, exit non-zero when anything was not accounted for.
try {
  const summary = await runDemo();
  process.exitCode = summary.reconciled && summary.queuedAfter === 0 ? 0 : 1;
} catch (error) {
  console.error("edr demo failed:", error);
  process.exitCode = 1;
}
