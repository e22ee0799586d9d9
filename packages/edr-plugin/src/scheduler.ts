import { sleep as defaultSleep } from "./sleep.js";
import { nextTick, type TriggerSpec } from "./trigger-spec.js";

/** How {@link runSchedule} waits, stops and reports. Every option is there for the `edr` command or tests. */
export interface ScheduleOptions {
  /** Aborting it ends a sleep at once, lets a run in progress finish, and starts no new run. */
  signal?: AbortSignal;
  /**
   * The wall clock, epoch ms.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Waits `ms`, or less when `signal` aborts (it must then resolve, not reject). Waking early is harmless:
   * the wait is computed again from `now()`.
   * @default a `setTimeout` that ends when the signal aborts
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Gets what a run threw, and the run's scheduled time; the schedule goes on. Should it throw in turn,
   * `runSchedule` rejects with that.
   * @default logs to `console.error`
   */
  onError?: (error: unknown, callTime: Date) => void;
  /**
   * Told how many ticks passed without a run of their own, and the call time of the run that took their
   * place: the slow run that outlasted them, or the run about to start when the process woke up late (a
   * suspended machine, a blocked event loop, a clock set forward). The replicator's watermarks copy what they
   * would have copied.
   * @default logs to `console.warn`
   */
  onTickSkipped?: (skipped: number, callTime: Date) => void;
}

/** The longest delay `setTimeout` keeps (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Calls `run(callTime)` on every tick of `spec` after now, with the tick's scheduled time (whole seconds), until
 * `signal` aborts; resolves once the run in progress (if any) has finished, or when a cron spec has no more
 * ticks. Runs never overlap: a run that outlasts ticks moves the next run to the first tick after it ends, and
 * the ticks in between go to `onTickSkipped`. A run that throws goes to `onError` and the schedule goes on.
 * Each wait is computed from `now()` to the tick, so waits do not drift, and a tick already run is never run
 * again, even if the clock is set back.
 */
export async function runSchedule(
  spec: TriggerSpec,
  run: (callTime: Date) => Promise<void>,
  options: ScheduleOptions = {},
): Promise<void> {
  const { signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const onError = options.onError ?? logRunError;
  const onTickSkipped = options.onTickSkipped ?? logTicksSkipped;

  // Ticks at or before `floor` are never run: at first the ones before the start (a restart begins from
  // now, as the engine's does), then the ones already run or passed while a run was busy.
  let floor = now();
  while (!isAborted(signal)) {
    const due = nextTick(spec, floor);
    if (due === Infinity) return;
    let wokeAt = now();
    while (wokeAt < due) {
      await sleep(Math.min(due - wokeAt, MAX_TIMER_MS), signal);
      if (isAborted(signal)) return;
      wokeAt = now();
    }

    // Woken past further ticks: run the latest that is due, count the ones before it as skipped.
    let tick = due;
    let skipped = 0;
    for (let later = nextTick(spec, tick); later <= wokeAt; later = nextTick(spec, later)) {
      tick = later;
      skipped++;
    }
    const callTime = new Date(tick);
    if (skipped > 0) onTickSkipped(skipped, callTime);

    try {
      await run(callTime);
    } catch (error) {
      onError(error, callTime);
    }

    // Max: a clock set back during the run must not bring `tick` (or an earlier tick) round again.
    const endedAt = Math.max(now(), tick);
    const passed = countTicks(spec, tick, endedAt);
    if (passed > 0) onTickSkipped(passed, callTime);
    floor = endedAt;
  }
}

/** A function, so that TypeScript does not keep a narrowing of `aborted` across the awaits that change it. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** How many ticks fall in `(fromMs, toMs]`. */
function countTicks(spec: TriggerSpec, fromMs: number, toMs: number): number {
  if (spec.kind === "every") {
    return Math.floor(toMs / spec.intervalMs) - Math.floor(fromMs / spec.intervalMs);
  }
  let count = 0;
  for (let tick = nextTick(spec, fromMs); tick <= toMs; tick = nextTick(spec, tick)) count++;
  return count;
}

function logRunError(error: unknown, callTime: Date): void {
  console.error(`[edr-plugin] scheduled run for ${callTime.toISOString()} failed:`, error);
}

function logTicksSkipped(skipped: number, callTime: Date): void {
  console.warn(
    `[edr-plugin] ${skipped} scheduled tick${skipped === 1 ? "" : "s"} skipped around the run for ` +
      `${callTime.toISOString()}; the next run catches up from the watermarks`,
  );
}
