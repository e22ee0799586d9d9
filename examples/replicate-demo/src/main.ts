import { runDemo } from "./demo.js";

// `pnpm demo`: tell the story, exit non-zero when anything was not accounted for.
try {
  const { ok } = await runDemo();
  process.exitCode = ok ? 0 : 1;
} catch (error) {
  console.error("edr demo failed:", error);
  process.exitCode = 1;
}
