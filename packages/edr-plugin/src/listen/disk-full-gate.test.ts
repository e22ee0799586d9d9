import { describe, expect, it } from "vitest";
import { QueueError } from "edr-queue";
import { DiskFullGate, diskFullCode } from "./disk-full-gate.js";

function gate() {
  let now = 1_000_000;
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const g = new DiskFullGate(() => now, { info: log, warn: log, error: log }, 5_000);
  return { g, logs, advance: (ms: number) => (now += ms) };
}

describe("diskFullCode", () => {
  it("finds ENOSPC, EFBIG and EDQUOT in an error or what it wraps, and nothing else", () => {
    const enospc = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    expect(diskFullCode(new QueueError("IO", "append failed", { cause: enospc }))).toBe("ENOSPC");
    expect(diskFullCode(Object.assign(new Error("x"), { code: "EFBIG" }))).toBe("EFBIG");
    expect(diskFullCode(new QueueError("FULL", "the queue is full"))).toBeUndefined();
    expect(diskFullCode(Object.assign(new Error("x"), { code: "EIO" }))).toBeUndefined();
    expect(diskFullCode(undefined)).toBeUndefined();
  });
});

describe("DiskFullGate", () => {
  it("lets every write through until an append finds the disk full", () => {
    const { g } = gate();
    const ticket = g.admit();
    expect(ticket).toEqual({ pass: true, probe: false });
    g.settle({ probe: false }, "queued");
    expect(g.admit()).toEqual({ pass: true, probe: false });
  });

  it("then refuses writes before they are forwarded, lets one probe through per interval, and opens once one is queued", () => {
    const { g, logs, advance } = gate();
    g.settle({ probe: false }, "disk-full", "ENOSPC");
    expect(logs.join("\n")).toMatch(/the disk under the queue is full \(ENOSPC\)/);
    const refused = g.admit();
    expect(refused).toMatchObject({ pass: false, retryAfterSeconds: 5 });
    expect(refused.pass === false && refused.reason).toMatch(/disk under the queue is full \(ENOSPC\)/);
    advance(4_200);
    expect(g.admit()).toMatchObject({ pass: false, retryAfterSeconds: 1 });
    advance(800);
    // One probe; the others wait while it is in flight.
    const probe = g.admit();
    expect(probe).toEqual({ pass: true, probe: true });
    expect(g.admit()).toMatchObject({ pass: false });
    // Still full: another interval.
    g.settle(probe as { probe: boolean }, "disk-full", "ENOSPC");
    expect(g.admit()).toMatchObject({ pass: false, retryAfterSeconds: 5 });
    advance(5_000);
    const second = g.admit();
    expect(second).toEqual({ pass: true, probe: true });
    // A probe that never reached the queue (the local instance refused it) lets the next write probe.
    g.settle(second as { probe: boolean }, "unknown");
    const third = g.admit();
    expect(third).toEqual({ pass: true, probe: true });
    g.settle(third as { probe: boolean }, "queued");
    expect(logs.join("\n")).toMatch(/has room again/);
    expect(g.admit()).toEqual({ pass: true, probe: false });
    expect(g.admit()).toEqual({ pass: true, probe: false });
  });
});
