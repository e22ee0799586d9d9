import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQueue, type Queue } from "edr-queue";
import { createSink, type Sink, type WriteResult } from "edr-sink";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDelivery, type RefusedLine } from "./delivery.js";

const quiet = { warn: () => {}, error: () => {} };

describe("createDelivery", () => {
  let server: InfluxDB3TestServer;
  let queue: Queue;
  let sink: Sink;
  let letters: RefusedLine[];
  let concurrent: number;
  let maxConcurrent: number;

  beforeEach(async () => {
    server = await startInfluxDB3Server({ writeDelayMs: 5 });
    queue = await createQueue({ dir: await mkdtemp(join(tmpdir(), "edr-delivery-")), name: "test" });
    const real = createSink({
      url: server.url,
      database: "db",
      batchLines: 1000,
      maxRetries: 1,
      backoffBaseMs: 1,
      logger: quiet,
    });
    concurrent = 0;
    maxConcurrent = 0;
    // The real sink, watched: how many of its write calls are unanswered at once.
    sink = {
      get halted() {
        return real.halted;
      },
      write: async (lines: readonly string[]): Promise<WriteResult> => {
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        try {
          return await real.write(lines);
        } finally {
          concurrent--;
        }
      },
      close: () => real.close(),
    };
    letters = [];
  });

  afterEach(async () => {
    await sink.close();
    await queue.close();
    await server.close();
  });

  const deadLetters = {
    append: async (batch: readonly RefusedLine[]) => {
      letters.push(...batch);
      return batch.length;
    },
  };

  async function fill(count: number, bad: (i: number) => boolean = () => false): Promise<void> {
    for (let start = 0; start < count; start += 5000) {
      const entries = [];
      for (let i = start; i < Math.min(count, start + 5000); i++) {
        const line = bad(i) ? `m,s=s${i % 7} v="text" ${i}` : `m,s=s${i % 7} v=${i}i ${i}`;
        entries.push({ table: "m", line });
      }
      await queue.append(entries);
    }
  }

  it("empties the queue with several calls in flight, acknowledging in order", async () => {
    await fill(40_000);
    const delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      readEntries: 2000,
      maxUnansweredLines: 16_000,
      maxUnansweredBytes: 1 << 30,
    });
    const report = await delivery.pass();
    expect(report).toMatchObject({ delivered: 40_000, deadLettered: 0, stalled: undefined });
    expect(queue.stats().entries).toBe(0);
    expect(server.points("db", "m")).toHaveLength(40_000);
    expect(maxConcurrent).toBeGreaterThan(1);
    expect(maxConcurrent).toBeLessThanOrEqual(8);
  });

  it("dead-letters what the remote refuses, keyed by queue ordinal, before acknowledging", async () => {
    // The first line makes v an integer column: the string lines conflict with it.
    await fill(3000, (i) => i % 1000 === 999);
    const delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      readEntries: 700,
      maxUnansweredLines: 5000,
      maxUnansweredBytes: 1 << 30,
    });
    const report = await delivery.pass();
    expect(report.deadLettered).toBe(3);
    expect(report.delivered).toBe(2997);
    expect(letters.map((l) => l.ordinal)).toEqual([999, 1999, 2999]);
    expect(letters[0]).toMatchObject({ table: "m", status: 400, line: 'm,s=s5 v="text" 999' });
    expect(letters[0]!.reason).toMatch(/v/);
    expect(queue.stats().entries).toBe(0);
  });

  it("sends lines not delivered again before newer ones, so each series keeps its order", async () => {
    await fill(20_000);
    server.faults.failFraction(0.3, { status: 503 }, 7);
    let now = Date.now();
    const delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      readEntries: 1500,
      maxUnansweredLines: 9000,
      maxUnansweredBytes: 1 << 30,
      now: () => now,
    });
    let stalls = 0;
    for (let round = 0; round < 200 && queue.stats().entries > 0; round++) {
      const report = await delivery.pass();
      if (report.stalled !== undefined) stalls++;
      if (report.retryAt !== undefined) now = Math.max(now, report.retryAt) + 1;
    }
    // Some requests gave up after their one retry: lines went round again.
    expect(stalls).toBeGreaterThan(0);
    expect(queue.stats().entries).toBe(0);
    const bySeries = new Map<string, bigint[]>();
    for (const p of server.points("db", "m")) {
      bySeries.set(p.tags["s"]!, [...(bySeries.get(p.tags["s"]!) ?? []), p.timeNs]);
    }
    expect([...bySeries.values()].flat()).toHaveLength(20_000);
    // Points of a series reached the server in queue (time) order: the stored order is first-write order.
    for (const times of bySeries.values()) expect(times).toEqual([...times].sort((a, b) => Number(a - b)));
    expect(delivery.counters.delivered).toBe(20_000);
  });

  it("stops on a halt and keeps everything queued, then resumes", async () => {
    await fill(5000);
    server.faults.failNext(1, { status: 401 });
    let now = Date.now();
    const delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      readEntries: 1000,
      maxUnansweredLines: 4000,
      maxUnansweredBytes: 1 << 30,
      now: () => now,
    });
    const first = await delivery.pass();
    expect(first.stalled).toMatch(/^halted: 401/);
    expect(delivery.halted).toMatch(/^halted: 401/);
    expect(queue.stats().entries).toBe(5000 - first.delivered);
    expect(letters).toEqual([]);
    now = first.retryAt! + 1;
    const second = await delivery.pass();
    expect(second.stalled).toBeUndefined();
    expect(queue.stats().entries).toBe(0);
    expect(first.delivered + second.delivered).toBe(5000);
  });

  it("picks up entries appended while a pass runs (kick)", async () => {
    const delivery = createDelivery({
      queue,
      sink,
      deadLetters,
      maxUnansweredLines: 10_000,
      maxUnansweredBytes: 1 << 30,
    });
    await fill(3000);
    delivery.kick();
    await fill(3000);
    delivery.kick();
    await delivery.idle();
    await delivery.pass();
    expect(queue.stats().entries).toBe(0);
    expect(delivery.counters.delivered).toBe(6000);
  });

  it("pauses before sending again, doubling once per round that delivers nothing, not once per call", async () => {
    await fill(8);
    let now = 1_000_000;
    const calls: number[] = [];
    const failing: Sink = {
      halted: undefined,
      write: async (lines) => {
        calls.push(now);
        const outcome = {
          kind: "not_delivered" as const,
          reason: "503",
          retryAt: now + 100,
          mayBeStored: false,
        };
        return {
          outcomes: lines.map(() => outcome),
          delivered: 0,
          rejected: 0,
          notDelivered: lines.length,
          retryAt: now + 100,
          halted: undefined,
          requests: 1,
        };
      },
      close: async () => undefined,
    };
    const delivery = createDelivery({
      queue,
      sink: failing,
      deadLetters,
      readEntries: 1,
      maxUnansweredLines: 10_000,
      maxUnansweredBytes: 1 << 30,
      now: () => now,
    });
    // A round of eight calls fails: the next waits the least pause, not a pause doubled eight times.
    const first = await delivery.pass();
    expect(calls).toHaveLength(8);
    expect(first.retryAt! - now).toBe(250);
    now = first.retryAt!;
    const second = await delivery.pass({ maxRetryWaitMs: 0 });
    expect(calls).toHaveLength(16); // the round sent again, eight calls of one line
    expect(second.retryAt! - now).toBe(500);
    expect(queue.stats().entries).toBe(8);
  });
});
