import { runDemo } from "./demo.js";

// `pnpm demo`: tell the story, exit non-zero when anything was not accounted for.
try {
  const { status } = await runDemo();
  process.exitCode = status.reconciled && status.lines.queued === 0 ? 0 : 1;
} catch (error) {
  console.error("edr demo failed:", error);
  process.exitCode = 1;
}
