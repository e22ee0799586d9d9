// Seeded, so a failing run can be replayed.
import { mulberry32, startInfluxDB3Server } from "edr-testkit";
import type { InfluxDB3TestServer, StoredPoint } from "edr-testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSink } from "../src/index.js";
import type { WriteResult } from "../src/index.js";
import { startChaosProxy } from "./chaos-proxy.js";
import type { ChaosProxy } from "./chaos-proxy.js";
import { recordingLogger } from "./helpers.js";

const SERIES = 97;
const SEED = Number(process.env.EDR_SINK_SOAK_SEED ?? 20261127);

describe("soak: 30% of requests fail at random with random statuses", () => {
  let server: InfluxDB3TestServer;
  let proxy: ChaosProxy;
  beforeAll(async () => {
    server = await startInfluxDB3Server();
    proxy = await startChaosProxy(server.url, 0.3, mulberry32(SEED));
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
  });

  it.each([
    ["v3", 100_000, 1],
    ["v3", 100_000, 3],
    ["v3", 100_000, 8],
    ["v2", 10_000, 1],
  ] as const)(
    `%s, %i lines, %i call(s) unanswered at once: exactly the good lines stored, in order per series, every line accounted for (seed ${SEED})`,
    async (writeApi, LINES, WINDOW) => {
      server.reset();
      proxy.faults.clear();
      const random = mulberry32(SEED + 1);
      const lines: string[] = [];
      const bad = new Set<number>();
      for (let i = 0; i < LINES; i++) {
        const s = i % SERIES;
        if (random() < 0.002) {
          bad.add(i);
          lines.push(`soak,series=s${s} v=not_a_number ${i}`);
        } else {
          lines.push(`soak,series=s${s} v=${i}i ${i}`);
        }
      }
      const sink = createSink({
        url: proxy.url,
        database: "soak",
        writeApi,
        batchLines: 700,
        maxInFlight: 4,
        // Few retries, so that many batches give up and the held-back paths are exercised.
        maxRetries: 1,
        logger: recordingLogger(),
        random,
        sleep: async () => undefined,
      });

      // A queue's view: up to WINDOW calls unanswered at once; what is not delivered goes out again,
      // ahead of newer lines, once the calls already written have answered.
      const final = new Map<number, "delivered" | "rejected">();
      let pending: number[] = [];
      let next = 0;
      let calls = 0;
      let heldBack = 0;
      const window: { indices: number[]; result: Promise<WriteResult> }[] = [];
      const send = (indices: number[]) => {
        calls++;
        window.push({ indices, result: sink.write(indices.map((i) => lines[i]!)) });
      };
      while ((next < LINES || pending.length > 0 || window.length > 0) && calls < 2000) {
        if (window.length === 0 && pending.length > 0) {
          send(pending);
          pending = [];
        }
        while (pending.length === 0 && window.length < WINDOW && next < LINES) {
          const take = Math.min(LINES - next, 5000);
          send(Array.from({ length: take }, (_, k) => next + k));
          next += take;
        }
        const { indices, result: answer } = window.shift()!;
        const result = await answer;
        expect(result.outcomes).toHaveLength(indices.length);
        expect(result.delivered + result.rejected + result.notDelivered).toBe(indices.length);
        result.outcomes.forEach((o, k) => {
          const i = indices[k]!;
          expect(final.has(i)).toBe(false);
          if (o.kind === "not_delivered") {
            pending.push(i);
            if (o.reason.startsWith("held back")) heldBack++;
          } else final.set(i, o.kind);
        });
      }
      await sink.close();

      expect(pending).toEqual([]);
      expect(final.size).toBe(LINES);
      const rejected = [...final].filter(([, kind]) => kind === "rejected").map(([i]) => i);
      expect(new Set(rejected)).toEqual(bad);

      const stored = server.points("soak");
      const expected: StoredPoint[] = [];
      for (let i = 0; i < LINES; i++) {
        if (bad.has(i)) continue;
        expected.push({
          measurement: "soak",
          tags: { series: `s${i % SERIES}` },
          fields: { v: { type: "integer", value: BigInt(i) } },
          timeNs: BigInt(i),
        });
      }
      const bySeries = (points: StoredPoint[]) => {
        const map = new Map<string, bigint[]>();
        for (const p of points) {
          const key = p.tags.series!;
          map.set(key, [...(map.get(key) ?? []), p.timeNs]);
        }
        return map;
      };
      expect(stored).toHaveLength(expected.length);
      // In order per series: each series' points arrived in time order, which is queue order here.
      for (const [key, times] of bySeries(stored)) {
        expect(times, key).toEqual([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      }
      expect(new Set(stored.map((p) => `${p.tags.series} ${p.timeNs} ${String(p.fields.v?.value)}`))).toEqual(
        new Set(expected.map((p) => `${p.tags.series} ${p.timeNs} ${String(p.fields.v?.value)}`)),
      );
      expect(proxy.faults.size).toBeGreaterThanOrEqual(8);
      expect(heldBack).toBeGreaterThan(0);
    },
    120_000,
  );
});
