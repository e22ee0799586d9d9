import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ARGUMENTS } from "../src/arguments.js";
import { formatArgumentsTable, readArgumentsSection } from "./arguments-table.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const examples = readdirSync(new URL("examples", import.meta.url)).sort();

function run(example: string): string {
  return execFileSync(process.execPath, ["--import", "tsx", `test/examples/${example}`], {
    cwd: packageDir,
    encoding: "utf8",
    env: { ...process.env, EDR_REMOTE_TOKEN: "apiv3_example-token", PLUGIN_DIR: "/var/lib/edr" },
  });
}

describe("README", () => {
  it("shows each runnable example verbatim", () => {
    expect(examples).toEqual(["scheduled.ts", "writes.ts"]);
    for (const example of examples) {
      const source = readFileSync(new URL(`examples/${example}`, import.meta.url), "utf8").trim();
      expect(readme, example).toContain(source);
    }
  });

  it("runs the scheduled example, printing what the README shows", () => {
    const output = run("scheduled.ts");
    expect(readme).toContain(output.trim());
    expect(output).toMatchInlineSnapshot(`
      "https://12.4.0.1:443
      3600000 600000
      Map(2) { 'usage_idle' => 'idle', 'usage_user' => 'user' }
      edr_queue_schedule.jsonl.gz
      "
    `);
  });

  it("runs the on-write example, printing what the README shows", () => {
    const output = run("writes.ts");
    expect(readme).toContain(output.trim());
    expect(output).toMatchInlineSnapshot(`
      "http://[::1]:8181
      {
        intervalMs: 60000,
        aggregations: {
          default: 'avg',
          fields: Map(1) { 'cpu' => Map(1) { 'usage_max' => 'max' } }
        }
      }
      [edr-args] 5 problems in the arguments:
        - tabels: unknown argument; did you mean tables?
        - host: expected the scheme http:// or https:// (or none, for http), got "ftp://12.4.0.1"
        - max_retries: expected an integer ≥ 0, got "-1"
        - aggregations: expected a function avg|sum|min|max|count|first|last|median (did you mean avg?), got "mean"
        - aggregations: is given without aggregate_interval, so nothing would be downsampled (add aggregate_interval=<duration>)
      "
    `);
  });

  it("documents every argument, exactly as the code knows it (pnpm readme:table regenerates it)", async () => {
    expect(readArgumentsSection(readme)).toBe(await formatArgumentsTable(ARGUMENTS));
  });
});
