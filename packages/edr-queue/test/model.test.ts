import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { QueueError } from "../src/index.js";
import { createQueue, type QueueBatch, type Queue } from "../src/index.js";
import { entries, indexOf, tempDir } from "./helpers.js";

/** The model: every id appended, how far acknowledged and read, the batches read and not yet acked. */
interface Model {
  appended: number;
  acked: number;
  read: number;
  outstanding: Array<{ from: number; to: number }>;
}

interface Real {
  dir: string;
  queue: Queue;
  batches: QueueBatch[]; // parallel to model.outstanding
  acked: QueueBatch[];
}

const open = (dir: string): Promise<Queue> => createQueue({ dir, segmentBytes: 2048, reclaimBytes: 512 });

class Append implements fc.AsyncCommand<Model, Real> {
  constructor(readonly n: number) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.queue.append(entries(m.appended, this.n));
    m.appended += this.n;
    expect(r.queue.stats().entries).toBe(m.appended - m.acked);
  }
  toString = (): string => `append(${this.n})`;
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(readonly max: number) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const batch = await r.queue.read({ maxEntries: this.max });
    const to = Math.min(m.appended, m.read + this.max);
    expect(batch.entries.map(indexOf)).toEqual(Array.from({ length: to - m.read }, (_, k) => m.read + k));
    if (to > m.read) {
      m.outstanding.push({ from: m.read, to });
      r.batches.push(batch);
    }
    m.read = to;
  }
  toString = (): string => `read(${this.max})`;
}

class AckOldest implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>): boolean => m.outstanding.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const batch = r.batches.shift()!;
    const { to } = m.outstanding.shift()!;
    await r.queue.ack(batch);
    r.acked.push(batch);
    m.acked = to;
    expect(r.queue.stats()).toMatchObject({ entries: m.appended - m.acked, acknowledged: m.acked });
  }
  toString = (): string => "ackOldest";
}

class AckAgain implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const batch = r.acked[r.acked.length - 1];
    if (!batch) return;
    await r.queue.ack(batch); // already acknowledged: nothing changes
    expect(r.queue.stats()).toMatchObject({ entries: m.appended - m.acked, acknowledged: m.acked });
  }
  toString = (): string => "ackAgain";
}

class AckOutOfOrder implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>): boolean => m.outstanding.length > 1;
  async run(m: Model, r: Real): Promise<void> {
    const error = await r.queue.ack(r.batches[1]!).catch((e: unknown) => e);
    expect((error as QueueError).code).toBe("OUT_OF_ORDER");
    expect(r.queue.stats().acknowledged).toBe(m.acked);
  }
  toString = (): string => "ackOutOfOrder";
}

class Rewind implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    r.queue.rewind();
    m.read = m.acked;
    m.outstanding = [];
    r.batches = [];
  }
  toString = (): string => "rewind";
}

class Reopen implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.queue.close();
    r.queue = await open(r.dir);
    m.read = m.acked;
    m.outstanding = [];
    r.batches = [];
    expect(r.queue.stats()).toMatchObject({ entries: m.appended - m.acked, acknowledged: m.acked });
  }
  toString = (): string => "close+reopen";
}

describe("model-based: random append / read / ack / rewind / close+reopen against an in-memory model", () => {
  it("agrees with the model on every step", async () => {
    const commands = [
      fc.integer({ min: 1, max: 60 }).map((n) => new Append(n)),
      fc.integer({ min: 1, max: 50 }).map((n) => new Read(n)),
      fc.constant(new AckOldest()),
      fc.constant(new AckOldest()),
      fc.constant(new AckAgain()),
      fc.constant(new AckOutOfOrder()),
      fc.constant(new Rewind()),
      fc.constant(new Reopen()),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { size: "+1" }), async (cmds) => {
        const dir = tempDir();
        const real: Real = { dir, queue: await open(dir), batches: [], acked: [] };
        try {
          await fc.asyncModelRun(
            () => ({ model: { appended: 0, acked: 0, read: 0, outstanding: [] }, real }),
            cmds,
          );
        } finally {
          await real.queue.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
