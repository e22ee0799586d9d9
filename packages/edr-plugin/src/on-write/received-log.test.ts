import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Call } from "../call.js";
import type { ReplicatorLogger } from "../logger.js";
import { stampIn, toNanosText } from "../listen/line-times.js";
import type { TimeUnit } from "../listen/write-endpoints.js";
import type { IntakeLine, ReceivedWrite } from "../listen/write-intake.js";
import { intakeLines, scanWriteLines } from "../listen/write-lines.js";
import type { DirectWrites } from "./direct-writes.js";
import { openReceivedLog, ReceivedLog, type MoveLimits } from "./received-log.js";
import { linesOfEntry, toEntry } from "./received-write.js";

let dir: string;
const logs: ReceivedLog[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edr-received-"));
});
afterEach(async () => {
  await Promise.all(logs.splice(0).map((log) => log.close()));
  await rm(dir, { recursive: true, force: true });
});

/** A write as the endpoint hands it over: `text` sent gzipped or not, stamped at `nowMs` where untimed. */
function received(
  text: string,
  options: { gzip?: boolean; unit?: TimeUnit; stored?: number[]; nowMs?: number } = {},
): ReceivedWrite {
  const decoded = Buffer.from(text, "utf8");
  const lines = scanWriteLines(decoded);
  const unit = options.unit ?? "ns";
  return {
    wire: options.gzip === true ? gzipSync(decoded) : decoded,
    encoding: options.gzip === true ? "gzip" : undefined,
    lines,
    unit,
    stamp: lines.unstamped > 0 ? stampIn(unit, options.nowMs ?? 1_700_000_000_123) : "",
    stored: options.stored,
  };
}

/** What the endpoint would have handed an intake that takes lines: the reference for the log. */
function expectedLines(write: ReceivedWrite): IntakeLine[] {
  const stampNs = write.stamp === "" ? "" : toNanosText(write.stamp, write.unit)!;
  return intakeLines(write.lines, write.stored, write.unit, stampNs).lines;
}

describe("received writes (received-write.ts)", () => {
  const cases: [string, { gzip?: boolean; unit?: TimeUnit; stored?: number[] }][] = [
    ["gzipped, stamped where untimed, milliseconds, part stored", { gzip: true, unit: "ms", stored: [0, 2] }],
    ["plain, nanoseconds, all stored", {}],
    ["auto precision", { unit: "auto" }],
  ];
  it.each(cases)("gives back the very lines the endpoint would have queued: %s", async (_name, options) => {
    const text =
      'cpu,host=a v=1 1700000000000\nmem f=2\n# c\nlog,k=\\ x s="a\nb",n=1i 1700000000001\ndisk f=3';
    const write = received(text, options);
    const batch = await linesOfEntry(toEntry(write));
    expect(batch.lines).toEqual(expectedLines(write));
    expect(batch.lines.length).toBe(options.stored?.length ?? 4);
  });

  it("keeps a body beyond ASCII byte for byte", async () => {
    const write = received("température,lieu=cave°C v=1\nвода f=2 5", { gzip: true });
    const batch = await linesOfEntry(toEntry(write));
    expect(batch.lines).toEqual(expectedLines(write));
    expect(batch.lines.map((l) => l.table)).toEqual(["température", "вода"]);
  });

  it("refuses an entry that is no received write, by name", async () => {
    await expect(linesOfEntry({ table: "cpu", line: "cpu f=1 1" })).rejects.toThrow(/not a received write/);
  });
});

/** A DirectWrites that records what it is given, and fails with `fail.with` (the queue refused) while `fail.on`. */
function recordingDirect(): {
  direct: DirectWrites;
  moved: string[];
  fail: { on: boolean; with: Error };
} {
  const moved: string[] = [];
  const fail = { on: false, with: new Error("the queue refused") };
  const direct = {
    refusal: () => undefined,
    accept: (lines: readonly IntakeLine[]) => Promise.resolve(lines.length),
    acceptInto: (_call: Call, lines: readonly IntakeLine[]) => {
      if (fail.on) return Promise.reject(fail.with);
      moved.push(...lines.map((l) => l.line));
      return Promise.resolve(lines.length);
    },
  };
  return { direct: direct as unknown as DirectWrites, moved, fail };
}

const call = { log: { warn: () => undefined } } as unknown as Call;
const quiet = { info: () => undefined, warn: () => undefined };
const FAST: MoveLimits = { quietMs: 100, busyShare: 0.5, maxWaitMs: 1500, maxBacklogLines: 1_000_000 };

async function open(
  direct: DirectWrites,
  limits: MoveLimits = FAST,
  logger: Pick<ReplicatorLogger, "info" | "warn"> = quiet,
): Promise<ReceivedLog> {
  const opened = await openReceivedLog({
    dir,
    name: "writes",
    maxBytes: 1 << 30,
    fsync: "never",
    onWarning: () => {},
  });
  const log = new ReceivedLog(opened, direct, 1 << 30, logger, limits);
  logs.push(log);
  return log;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A burst of writes: the event loop busy 8 ms of every 10, and a write into `log` every 20 ms (none without
 * `log`: other work, as sending is), until stopped.
 */
function burst(log?: ReceivedLog): { stop(): Promise<void> } {
  const timer = setInterval(() => {
    const until = performance.now() + 8;
    while (performance.now() < until);
  }, 10);
  let writing = log !== undefined;
  const writer = (async () => {
    for (let i = 1; writing; i++) {
      await log!.acceptWrite(received(`cpu v=${i} ${i}`));
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      clearInterval(timer);
      writing = false;
      await writer;
    },
  };
}

describe("ReceivedLog", () => {
  it("moves writes in the order they came, and only once", async () => {
    const { direct, moved } = recordingDirect();
    const log = await open(direct);
    for (let i = 0; i < 5; i++) await log.acceptWrite(received(`cpu v=${i} ${i}\ncpu v=${i} ${i + 100}`));
    expect(log.lines).toBe(10);
    await log.moveOn(call, { closing: true });
    expect(moved).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`cpu v=${i} ${i}`, `cpu v=${i} ${i + 100}`]));
    expect(log.lines).toBe(0);
    expect(log.hasWork()).toBe(false);
    await log.moveOn(call, { closing: true });
    expect(moved).toHaveLength(10);
  });

  it("gives way while the event loop is busy, and moves once it eases", async () => {
    const { direct, moved } = recordingDirect();
    const log = await open(direct);
    await log.acceptWrite(received("cpu v=0 0"));
    const busy = burst(log);
    let moving: Promise<void>;
    try {
      await sleep(50); // a burst under way
      moving = log.moveOn(call);
      await sleep(400);
      expect(moved).toEqual([]);
    } finally {
      await busy.stop();
    }
    await moving;
    expect(moved[0]).toBe("cpu v=0 0");
  });

  it("does not give way to other work than writes (sending)", async () => {
    const { direct, moved } = recordingDirect();
    const log = await open(direct);
    await log.acceptWrite(received("cpu v=0 0"));
    const busy = burst();
    try {
      await sleep(150);
      const started = performance.now();
      await log.moveOn(call);
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      await busy.stop();
    }
    expect(moved).toEqual(["cpu v=0 0"]);
  });

  it("moves at once when the event loop is idle", async () => {
    const { direct, moved } = recordingDirect();
    const log = await open(direct);
    await log.acceptWrite(received("cpu v=0 0"));
    const started = performance.now();
    await log.moveOn(call);
    expect(moved).toEqual(["cpu v=0 0"]);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("moves a write that waited maxWaitMs however busy the event loop is", async () => {
    const { direct, moved } = recordingDirect();
    const log = await open(direct);
    await log.acceptWrite(received("cpu v=0 0"));
    const started = performance.now();
    const busy = burst(log);
    try {
      await sleep(50);
      await log.moveOn(call);
    } finally {
      await busy.stop();
    }
    const waited = performance.now() - started;
    expect(moved[0]).toBe("cpu v=0 0");
    expect(waited).toBeGreaterThanOrEqual(FAST.maxWaitMs - 50);
    expect(waited).toBeLessThan(FAST.maxWaitMs + 1500);
  });

  it("holds writers back past maxBacklogLines until the move catches up", async () => {
    const { direct, moved } = recordingDirect();
    const log = await open(direct, { ...FAST, maxBacklogLines: 3 });
    await log.acceptWrite(received("cpu v=1 1\ncpu v=2 2"));
    let answered = false;
    const held = log.acceptWrite(received("cpu v=3 3\ncpu v=4 4")).then(() => (answered = true));
    await sleep(50);
    expect(answered).toBe(false); // durable, but its writer waits
    await log.moveOn(call, { closing: true });
    await held;
    expect(moved).toEqual(["cpu v=1 1", "cpu v=2 2", "cpu v=3 3", "cpu v=4 4"]);
  });

  it("skips nothing when a move fails: the next one starts at the first write not moved", async () => {
    const { direct, moved, fail } = recordingDirect();
    const log = await open(direct);
    for (let i = 0; i < 3; i++) await log.acceptWrite(received(`cpu v=${i} ${i}`));
    fail.on = true;
    await expect(log.moveOn(call, { closing: true })).rejects.toThrow(/refused/);
    fail.on = false;
    await log.moveOn(call, { closing: true });
    expect(moved).toEqual(["cpu v=0 0", "cpu v=1 1", "cpu v=2 2"]);
  });

  it("refuses writes while the move finds the disk full, says so, and takes them again once a move goes through", async () => {
    const { direct, moved, fail } = recordingDirect();
    fail.on = true;
    fail.with = Object.assign(new Error("write failed"), { code: "ENOSPC" });
    const said: string[] = [];
    const log = await open(direct, FAST, { info: (m) => said.push(m), warn: (m) => said.push(m) });
    await log.acceptWrite(received("cpu v=1 1"));
    expect(log.refusal()).toBeUndefined();
    await expect(log.moveOn(call)).rejects.toThrow(/write failed/);
    expect(log.refusal()?.retryAfterSeconds).toBe(5);
    expect(log.refusal()?.reason).toMatch(/disk under the queue is full \(ENOSPC\)/);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/the disk under the queue is full \(ENOSPC\)/);
    fail.on = false;
    await log.moveOn(call);
    expect(moved).toEqual(["cpu v=1 1"]);
    expect(log.refusal()).toBeUndefined();
    expect(said[1]).toMatch(/the disk under the queue has room again/);
  });

  it("keeps what was not moved for the next start, and counts its lines", async () => {
    const first = recordingDirect();
    const log = await open(first.direct);
    await log.acceptWrite(received("cpu v=1 1\nmem f=2", { gzip: true }));
    await log.acceptWrite(received("disk f=3 3"));
    await log.close();
    logs.splice(logs.indexOf(log), 1);
    const second = recordingDirect();
    const reopened = await open(second.direct);
    expect(reopened.lines).toBe(3);
    await reopened.moveOn(call, { closing: true });
    expect(second.moved).toEqual(["cpu v=1 1", "mem f=2 1700000000123000000", "disk f=3 3"]);
    expect(first.moved).toEqual([]);
  });
});
