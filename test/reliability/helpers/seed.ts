// Seeded randomness for the reliability suite: one seed per run, printed, and replayable from an environment
// variable. Each user of the seed (the kill schedule, each writer, the values) draws from its own stream, so
// the kill moments of a seed stay the same however the writers' timing varies.
import { mulberry32 } from "edr-testkit";

/** The seed in `process.env[name]`, or a fresh one. */
export function seedFrom(name: string): number {
  const text = process.env[name];
  if (text === undefined || text === "") return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed))
    throw new Error(`${name}: expected an integer, got ${JSON.stringify(text)}`);
  return seed;
}

/** A seeded random source with the draws the tests need. */
export class Rng {
  private readonly next: () => number;

  /** `stream` derives an independent sequence from the same seed. */
  constructor(seed: number, stream = 0) {
    this.next = mulberry32((seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}
