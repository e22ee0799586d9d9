import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo, type DemoSummary } from "../src/demo.js";

describe("the README's demo", () => {
  let output: string[] = [];
  let summary: DemoSummary;
  let workDir: string;

  it(
    "runs a whole replication through edr-plugin and accounts for every queued line",
    { timeout: 30_000 },
    async () => {
      workDir = await mkdtemp(join(tmpdir(), "edr-demo-test-"));
      output = [];
      summary = await runDemo({ say: (line) => output.push(line), workDir });
      expect(summary.report.errors).toEqual([]);
      expect(summary.status.reconciled).toBe(true);
      expect(summary.status.lines.queued).toBe(0);
      expect(summary.status.lines.accepted).toBe(
        summary.status.lines.delivered + summary.status.lines.deadLettered,
      );
      // 6 machine series and 2 energy series, 60 one-minute buckets each; the 3 alarms are refused.
      expect(summary.remotePoints.get("machine")).toHaveLength(360);
      expect(summary.remotePoints.get("power")).toHaveLength(120);
      expect(summary.status.lines.deadLettered).toBe(3);
    },
  );

  it("told the seed's log lines and the retries through the 503 and the 429", () => {
    const id = summary.report.taskId;
    expect(output).toContain(`   [${id}] Queued 483 lines from machine,energy,alarms`);
    expect(output).toContain(`   [${id}] Replicated 480 lines to remote instance`);
    expect(output.some((line) => /retrying \d+ lines in 1000 ms after 503/.test(line))).toBe(true);
    expect(output.some((line) => /retrying \d+ lines in 1000 ms after 429/.test(line))).toBe(true);
  });

  it("applied the renames, the exclusion and the aggregations", () => {
    const machine = summary.remotePoints.get("machine") ?? [];
    for (const point of machine) {
      expect(Object.keys(point.fields).sort()).toEqual(["rpm", "running", "temperature"]);
      expect(point.fields["rpm"]?.type).toBe("integer");
      expect(point.fields["temperature"]?.type).toBe("float");
      expect(point.timeNs % 60_000_000_000n).toBe(0n);
    }
    const power = summary.remotePoints.get("power") ?? [];
    expect(power.every((point) => point.fields["phase"]?.type === "integer")).toBe(true);
  });

  it("kept the refused lines in the dead-letter file with the remote's reason", () => {
    expect(summary.deadLetters).toHaveLength(3);
    for (const letter of summary.deadLetters) {
      expect(letter.table).toBe("alarms");
      expect(letter.status).toBe(400);
      expect(letter.reason).toMatch(/code/);
    }
  });

  it("left an empty, zcat-readable queue and never printed a token", async () => {
    expect((await readdir(workDir)).some((name) => name.startsWith("edr_queue_schedule"))).toBe(true);
    const text = output.join("\n");
    expect(text).not.toContain("demo-remote-token");
    expect(text).not.toContain("demo-local-token");
    expect(text).toContain("token=<secret>");
  });
});
