// Back-pressure for a full disk under the queue. A write is forwarded to the local instance before its lines
// are queued, so the write that finds the disk full (ENOSPC, or EFBIG past a file-size limit) is stored locally
// but not queued: its client is told to retry. Without this gate every later write would do the same, the local
// instance storing lines the remote never gets from edr. With it, once an append failed for want of space, writes
// are refused (503, Retry-After) before they reach the local instance, and one write at a time, every
// `probeEveryMs`, goes through to find out whether there is room again: the first that is queued opens the gate.
import type { ReplicatorLogger } from "../logger.js";

/** How often one write is let through to find out whether the disk has room again. */
export const DISK_FULL_PROBE_EVERY_MS = 5_000;

const DISK_FULL_CODES = new Set(["ENOSPC", "EFBIG", "EDQUOT"]);

/** The error code when `error` (or what it wraps) says the disk or a file-size limit is full, else undefined. */
export function diskFullCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && DISK_FULL_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What {@link DiskFullGate.admit} decided: go on (maybe as the probe), or refuse with this. */
export type Admission =
  | { readonly pass: true; readonly probe: boolean }
  | { readonly pass: false; readonly retryAfterSeconds: number; readonly reason: string };

/** How a write that was let through ended, as far as the queue is concerned. */
export type Settlement = "queued" | "disk-full" | "unknown";

export class DiskFullGate {
  private full: string | undefined;
  private probing = false;
  private nextProbeMs = 0;

  constructor(
    private readonly now: () => number,
    private readonly logger: ReplicatorLogger,
    private readonly probeEveryMs = DISK_FULL_PROBE_EVERY_MS,
  ) {}

  /** Whether a write may go to the local instance now; call {@link settle} with the ticket when it passed. */
  admit(): Admission {
    if (this.full === undefined) return { pass: true, probe: false };
    const now = this.now();
    if (this.probing || now < this.nextProbeMs) {
      const waitMs = this.probing ? this.probeEveryMs : this.nextProbeMs - now;
      return {
        pass: false,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
        reason: `the disk under the queue is full (${this.full}), so nothing was written; writes are taken again once it has room`,
      };
    }
    this.probing = true;
    return { pass: true, probe: true };
  }

  /** Tells how a write that was admitted ended: queued (there is room), refused by the disk, or neither. */
  settle(ticket: { probe: boolean }, outcome: Settlement, code = "ENOSPC"): void {
    if (ticket.probe) this.probing = false;
    if (outcome === "disk-full") {
      if (this.full === undefined) {
        this.logger.warn(
          `[edr listen] the disk under the queue is full (${code}): writes are answered 503 before they reach the ` +
            `local instance; one write every ${this.probeEveryMs / 1000} s checks for room`,
        );
      }
      this.full = code;
      this.nextProbeMs = this.now() + this.probeEveryMs;
    } else if (outcome === "queued" && this.full !== undefined) {
      this.full = undefined;
      this.logger.info("[edr listen] the disk under the queue has room again: writes are taken again");
    }
  }
}
