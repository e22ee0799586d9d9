// A WriteIntake for the write-through endpoint's tests and bench: keeps what it is given in memory, and can
// be told to refuse new writes, fail `accept`, or take its time.
import type { IntakeLine, WriteIntake } from "../src/listen/write-intake.js";

export class FakeIntake implements WriteIntake {
  /** Every line accepted, in order. */
  readonly lines: IntakeLine[] = [];
  /** How many `accept` calls succeeded. */
  batches = 0;
  /** Lines accepted, also when `keepLines` is off. */
  count = 0;
  /** What `refusal()` answers. */
  refuseWith: { retryAfterSeconds: number; reason: string } | undefined;
  /** When set, `accept` rejects with it and keeps nothing. */
  failWith: Error | undefined;
  /** `accept` waits this long before it settles. */
  acceptDelayMs = 0;

  constructor(private readonly keepLines = true) {}

  refusal(): { retryAfterSeconds: number; reason: string } | undefined {
    return this.refuseWith;
  }

  async accept(lines: readonly IntakeLine[]): Promise<number> {
    if (this.acceptDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.acceptDelayMs));
    if (this.failWith !== undefined) throw this.failWith;
    if (this.keepLines) for (const line of lines) this.lines.push(line);
    this.count += lines.length;
    this.batches++;
    return lines.length;
  }

  /** The accepted lines' text. */
  texts(): string[] {
    return this.lines.map((l) => l.line);
  }
}
