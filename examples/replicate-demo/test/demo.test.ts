import { describe, expect, it } from "vitest";
import { runDemo, type DemoSummary } from "../src/demo.js";

describe("the README's demo", () => {
  let summary: DemoSummary;

  it(
    "replicates a live factory through edr listen and edr schedule, across an outage",
    { timeout: 60_000 },
    async () => {
      const started = Date.now();
      summary = await runDemo({ say: () => undefined });
      expect(summary.ok).toBe(true);
      expect(Date.now() - started).toBeLessThan(30_000);
      for (const name of ["listen", "schedule"] as const) {
        const { status, written, exitCode } = summary[name];
        expect(exitCode, `edr ${name} exit code`).toBe(0);
        expect(status).toMatchObject({ reconciled: true, lines: { queued: 0, refused: 0 } });
        // Everything written was accepted: delivered, or (alarms) dead-lettered.
        expect(status.lines.accepted).toBe(written);
        expect(status.lines.delivered + status.lines.deadLettered).toBe(written);
      }
    },
  );

  it("went through the outage: requests failed and were sent again", () => {
    const failed = (name: "listen" | "schedule") =>
      Object.entries(summary[name].status.answersByStatus).filter(([code]) => !["204", "400"].includes(code))
        .length;
    expect(failed("listen")).toBeGreaterThan(0);
    expect(failed("schedule")).toBeGreaterThan(0);
    expect(summary.output.some((line) => /the remote is down/.test(line))).toBe(true);
    expect(summary.output.some((line) => /ECONNREFUSED/.test(line))).toBe(true);
  });

  it("left the remote equal to the local instance, as transformed, with the refused alarms dead-lettered", () => {
    expect(summary.compared.map((c) => [c.table, c.matching])).toEqual([
      ["machine", true],
      ["power", true],
    ]);
    expect(summary.compared.every((c) => c.expected > 0)).toBe(true);
    expect(summary.deadLetters.length).toBeGreaterThan(0);
    for (const letter of summary.deadLetters) {
      expect(letter).toMatchObject({ table: "alarms", status: 400 });
      expect(letter.reason).toMatch(/code/);
    }
    expect(summary.listen.status.lines.deadLettered).toBe(summary.deadLetters.length);
  });

  it("never printed a token", () => {
    const text = summary.output.join("\n");
    expect(text).not.toContain("demo-remote-token");
    expect(text).not.toContain("demo-local-token");
  });
});
