import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runSchedule } from "./scheduler.js";
import { parseTriggerSpec, type TriggerSpec } from "./trigger-spec.js";

const at = (iso: string): number => Date.parse(iso);
const isoOf = (date: Date): string => date.toISOString();
const every10s = parseTriggerSpec("every:10s");

describe("runSchedule with fake timers", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(at("2026-12-05T16:20:03.250Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("runs every: ticks on multiples of the interval since the epoch, with the tick as call time", async () => {
    const calls: string[] = [];
    const woke: number[] = [];
    const controller = new AbortController();
    const done = runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        woke.push(Date.now());
      },
      { signal: controller.signal },
    );
    await vi.advanceTimersByTimeAsync(35_000);
    controller.abort();
    await done;
    expect(calls).toEqual([
      "2026-12-05T16:20:10.000Z",
      "2026-12-05T16:20:20.000Z",
      "2026-12-05T16:20:30.000Z",
    ]);
    expect(woke).toEqual(calls.map((c) => Date.parse(c)));
  });

  it("runs cron ticks", async () => {
    const calls: string[] = [];
    const controller = new AbortController();
    const spec = parseTriggerSpec("cron:0 */5 * * * *", { timezone: "UTC" });
    const done = runSchedule(spec, async (callTime) => void calls.push(isoOf(callTime)), {
      signal: controller.signal,
    });
    await vi.advanceTimersByTimeAsync(11 * 60_000);
    controller.abort();
    await done;
    expect(calls).toEqual(["2026-12-05T16:25:00.000Z", "2026-12-05T16:30:00.000Z"]);
  });

  it("never overlaps runs: a slow run moves the next run to the first tick after it and reports the skipped ticks", async () => {
    const calls: string[] = [];
    const skipped: [number, string][] = [];
    let running = 0;
    let maxRunning = 0;
    const controller = new AbortController();
    const done = runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        running++;
        maxRunning = Math.max(maxRunning, running);
        // The first run (at :10) ends at :35, past the ticks :20 and :30.
        if (calls.length === 1) await new Promise((resolve) => setTimeout(resolve, 25_000));
        running--;
      },
      { signal: controller.signal, onTickSkipped: (n, callTime) => void skipped.push([n, isoOf(callTime)]) },
    );
    await vi.advanceTimersByTimeAsync(45_000); // to :48.25
    controller.abort();
    await done;
    expect(calls).toEqual(["2026-12-05T16:20:10.000Z", "2026-12-05T16:20:40.000Z"]);
    expect(skipped).toEqual([[2, "2026-12-05T16:20:10.000Z"]]);
    expect(maxRunning).toBe(1);
  });

  it("counts a tick that falls exactly at the end of a run as skipped", async () => {
    const calls: string[] = [];
    const skipped: number[] = [];
    const controller = new AbortController();
    const done = runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        if (calls.length === 1) await new Promise((resolve) => setTimeout(resolve, 10_000));
      },
      { signal: controller.signal, onTickSkipped: (n) => void skipped.push(n) },
    );
    await vi.advanceTimersByTimeAsync(27_000);
    controller.abort();
    await done;
    expect(calls).toEqual(["2026-12-05T16:20:10.000Z", "2026-12-05T16:20:30.000Z"]);
    expect(skipped).toEqual([1]);
  });

  it("goes on after a run throws, handing the error and call time to onError", async () => {
    const calls: string[] = [];
    const errors: [unknown, string][] = [];
    const failure = new Error("remote down");
    const controller = new AbortController();
    const done = runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        if (calls.length === 1) throw failure;
      },
      { signal: controller.signal, onError: (error, callTime) => void errors.push([error, isoOf(callTime)]) },
    );
    await vi.advanceTimersByTimeAsync(25_000);
    controller.abort();
    await done;
    expect(errors).toEqual([[failure, "2026-12-05T16:20:10.000Z"]]);
    expect(calls).toEqual(["2026-12-05T16:20:10.000Z", "2026-12-05T16:20:20.000Z"]);
  });

  it("logs a failed run to console.error by default", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const controller = new AbortController();
    const done = runSchedule(
      every10s,
      async () => {
        throw new Error("remote down");
      },
      { signal: controller.signal },
    );
    await vi.advanceTimersByTimeAsync(10_000);
    controller.abort();
    await done;
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0]?.[0]).toMatchInlineSnapshot(
      `"[edr-plugin] scheduled run for 2026-12-05T16:20:10.000Z failed:"`,
    );
  });

  it("ends a sleep at once when the signal aborts, leaving no timer behind", async () => {
    const run = vi.fn(async () => {});
    const controller = new AbortController();
    let settled = false;
    const done = runSchedule(every10s, run, { signal: controller.signal }).then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(2_000);
    controller.abort();
    // Only microtasks, no timer time: the sleep must not wait for its tick.
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    await done;
    expect(run).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("waits for the run in progress when the signal aborts, then starts no other", async () => {
    const calls: string[] = [];
    const controller = new AbortController();
    let finished = false;
    let settled = false;
    const done = runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        finished = true;
      },
      { signal: controller.signal },
    ).then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(8_000); // the run at :10 has started (now :11.25)
    controller.abort();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(finished).toBe(true);
    expect(settled).toBe(true);
    await done;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(["2026-12-05T16:20:10.000Z"]);
  });

  it("does not run at all when the signal is already aborted", async () => {
    const run = vi.fn(async () => {});
    await runSchedule(every10s, run, { signal: AbortSignal.abort() });
    expect(run).not.toHaveBeenCalled();
  });
});

/** A clock that only moves when the scheduler sleeps (by `lateMs` more than asked) or a test moves it. */
function virtualClock(startMs: number, lateMs = 0) {
  const clock = {
    ms: startMs,
    sleeps: [] as number[],
    now: () => clock.ms,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.ms += ms + lateMs;
    },
  };
  return clock;
}

describe("runSchedule with an injected clock", () => {
  it("computes each wait from now() to the tick, so late wake-ups do not drift", async () => {
    const clock = virtualClock(at("2026-12-05T16:20:03Z"), 7);
    const controller = new AbortController();
    const calls: string[] = [];
    await runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        if (calls.length === 4) controller.abort();
      },
      { signal: controller.signal, now: clock.now, sleep: clock.sleep },
    );
    expect(calls).toEqual([
      "2026-12-05T16:20:10.000Z",
      "2026-12-05T16:20:20.000Z",
      "2026-12-05T16:20:30.000Z",
      "2026-12-05T16:20:40.000Z",
    ]);
    // Each wake-up is 7 ms late; the next wait is shortened by those 7 ms, not added to them.
    expect(clock.sleeps).toEqual([7_000, 9_993, 9_993, 9_993]);
  });

  it("never runs a tick twice when the clock is set back during a run", async () => {
    const clock = virtualClock(at("2026-12-05T16:20:03Z"));
    const controller = new AbortController();
    const calls: string[] = [];
    await runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        // NTP steps the clock back 8 s while the first run is busy.
        if (calls.length === 1) clock.ms -= 8_000;
        if (calls.length === 3) controller.abort();
      },
      { signal: controller.signal, now: clock.now, sleep: clock.sleep },
    );
    expect(calls).toEqual([
      "2026-12-05T16:20:10.000Z",
      "2026-12-05T16:20:20.000Z",
      "2026-12-05T16:20:30.000Z",
    ]);
  });

  it("sleeps again rather than firing early when the clock is set back during a sleep", async () => {
    const clock = virtualClock(at("2026-12-05T16:20:03Z"));
    let steppedBack = false;
    const controller = new AbortController();
    const calls: string[] = [];
    const woke: number[] = [];
    await runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        woke.push(clock.ms);
        if (calls.length === 2) controller.abort();
      },
      {
        signal: controller.signal,
        now: clock.now,
        sleep: async (ms) => {
          await clock.sleep(ms);
          if (!steppedBack) {
            steppedBack = true;
            clock.ms -= 60_000;
          }
        },
      },
    );
    expect(calls).toEqual(["2026-12-05T16:20:10.000Z", "2026-12-05T16:20:20.000Z"]);
    expect(woke).toEqual([at("2026-12-05T16:20:10Z"), at("2026-12-05T16:20:20Z")]);
  });

  it("runs the latest due tick after waking late and reports the ones it passed", async () => {
    const clock = virtualClock(at("2026-12-05T16:20:03Z"));
    const controller = new AbortController();
    const calls: string[] = [];
    const skipped: [number, string][] = [];
    let slept = 0;
    await runSchedule(
      every10s,
      async (callTime) => {
        calls.push(isoOf(callTime));
        if (calls.length === 2) controller.abort();
      },
      {
        signal: controller.signal,
        now: clock.now,
        // The machine is suspended during the first sleep and wakes at :35.
        sleep: async (ms) => {
          await clock.sleep(ms);
          if (slept++ === 0) clock.ms += 25_000;
        },
        onTickSkipped: (n, callTime) => void skipped.push([n, isoOf(callTime)]),
      },
    );
    expect(calls).toEqual(["2026-12-05T16:20:30.000Z", "2026-12-05T16:20:40.000Z"]);
    expect(skipped).toEqual([[2, "2026-12-05T16:20:30.000Z"]]);
  });

  it("warns on console.warn about skipped ticks by default", async () => {
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    const clock = virtualClock(at("2026-12-05T16:20:03Z"));
    const controller = new AbortController();
    await runSchedule(
      every10s,
      async () => {
        clock.ms += 15_000;
        controller.abort();
      },
      { signal: controller.signal, now: clock.now, sleep: clock.sleep },
    );
    expect(warned.mock.calls).toMatchInlineSnapshot(`
      [
        [
          "[edr-plugin] 1 scheduled tick skipped around the run for 2026-12-05T16:20:10.000Z; the next run catches up from the watermarks",
        ],
      ]
    `);
    warned.mockRestore();
  });

  it("splits waits longer than setTimeout can hold", async () => {
    const clock = virtualClock(0);
    const controller = new AbortController();
    const calls: number[] = [];
    await runSchedule(
      parseTriggerSpec("every:4w"),
      async (callTime) => {
        calls.push(callTime.getTime());
        controller.abort();
      },
      { signal: controller.signal, now: clock.now, sleep: clock.sleep },
    );
    expect(calls).toEqual([4 * 604_800_000]);
    expect(clock.sleeps).toEqual([2_147_483_647, 4 * 604_800_000 - 2_147_483_647]);
  });

  it("ends when a cron spec has no further tick", async () => {
    const spec: TriggerSpec = {
      kind: "cron",
      expression: "0 0 0 31 2 *",
      text: "cron:0 0 0 31 2 *",
      timezone: "UTC",
    };
    const run = vi.fn(async () => {});
    const clock = virtualClock(at("2026-12-05T16:20:03Z"));
    await runSchedule(spec, run, { now: clock.now, sleep: clock.sleep });
    expect(run).not.toHaveBeenCalled();
    expect(clock.sleeps).toEqual([]);
  });
});
