import type { Queue } from "edr-queue";
import { errorMessage } from "./call.js";
import type { Delivery } from "./delivery.js";
import type { ReplicatorLogger } from "./logger.js";
import { sleep } from "./sleep.js";

/** The drain loop's longest pause while the remote is down (it starts at 1 s and doubles). */
const MAX_BACKOFF_MS = 30_000;
/** How often an idle loop looks at the queue (the end of a call also wakes it). */
const IDLE_MS = 1000;

/** What the drain loop works with. */
export interface DrainLoopParts {
  readonly delivery: Delivery;
  readonly queue: Queue;
  readonly logger: ReplicatorLogger;
  /** Whether a call runs (or waits to): the loop stands aside meanwhile, since a call sends what it queued. */
  readonly busy: () => boolean;
}

/**
 * Sends what is queued whenever no call runs, so a queue empties even when nothing new arrives: each pass
 * waits out the remote's `Retry-After` itself; a pass that fails, or stops on a halt, is followed by a pause that
 * doubles from 1 s up to 30 s while the remote stays down.
 */
export class DrainLoop {
  private pass: AbortController | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly parts: DrainLoopParts) {}

  /** Runs until `signal` aborts; the pass in progress then ends once its requests have answered. */
  async run(signal: AbortSignal): Promise<void> {
    const { delivery, queue, logger } = this.parts;
    const stop = () => {
      this.pass?.abort();
      this.wake();
    };
    signal.addEventListener("abort", stop, { once: true });
    let backoffMs = 1000;
    try {
      while (!signal.aborted) {
        if (this.parts.busy() || queue.stats().entries === 0) {
          await this.idle();
          continue;
        }
        const pass = (this.pass = new AbortController());
        try {
          const before = delivery.counters.delivered;
          const report = await delivery.pass({ maxRetryWaitMs: Infinity, signal: pass.signal });
          const delivered = delivery.counters.delivered - before;
          if (delivered > 0) logger.info(`Replicated ${delivered} lines to remote instance`);
          if (report.stalled === undefined || pass.signal.aborted) {
            backoffMs = 1000;
            continue;
          }
          logger.warn(`delivery paused ${Math.round(backoffMs / 1000)} s: ${report.stalled}`);
        } catch (error) {
          logger.error(
            `delivery failed, trying again in ${Math.round(backoffMs / 1000)} s: ${errorMessage(error)}`,
          );
        } finally {
          this.pass = undefined;
        }
        await sleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      }
    } finally {
      signal.removeEventListener("abort", stop);
    }
  }

  /** A call starts: the background pass makes way at once (it stops sending; its requests answer). */
  standAside(): void {
    this.pass?.abort();
  }

  /** A call ended, or the loop must look again now. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Until woken, or a second passed. */
  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, IDLE_MS);
      this.wakeUp = done;
    });
  }
}
