// Calls written before the earlier ones resolve (how a replicator keeps the lanes full): they share the
// lanes in call order, gather into full requests, resolve in call order, and never reorder a series.
import * as http from "node:http";
import type * as net from "node:net";
import { describe, expect, it } from "vitest";
import { hashSeries } from "../src/series.js";
import type { WriteResult } from "../src/index.js";
import { makeLines, useServer } from "./helpers.js";

const ctx = useServer();

/** A series name whose lines go to `lane` of `lanes`. */
function seriesInLane(lane: number, lanes: number, prefix: string): string {
  for (let i = 0; ; i++) {
    const name = `${prefix}${i}`;
    if (hashSeries(`m,s=${name} v=1 1`) % lanes === lane) return name;
  }
}

function linesOf(series: string, from: number, count: number): string[] {
  return Array.from({ length: count }, (_, t) => `m,s=${series} v=${from + t}i ${from + t}`);
}

/** A remote whose answer to each write depends on the body: a status, after a delay. */
async function startScriptedRemote(answer: (body: string) => { status: number; afterMs?: number }) {
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const { status, afterMs = 0 } = answer(body);
      setTimeout(() => res.writeHead(status).end(), afterMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Answers 204, after 300 ms for bodies carrying `slow`; `first` answers the first body carrying `series`. */
function slowAnd(slow: string, series?: string, first?: { status: number; afterMs?: number }) {
  let used = false;
  return (body: string) => {
    if (series !== undefined && first !== undefined && !used && body.includes(series)) {
      used = true;
      return first;
    }
    return { status: 204, afterMs: body.includes(slow) ? 300 : 0 };
  };
}

describe("calls written while a request is in flight", () => {
  it("gather into one full request, in call order", async () => {
    const sink = ctx.open({ maxInFlight: 1 });
    ctx.server.faults.delay(300);
    const first = sink.write(makeLines(3, 10)); // alone on idle lanes: one request
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = [
      sink.write(linesOf("a", 0, 20)),
      sink.write(linesOf("b", 0, 20)),
      sink.write(linesOf("a", 20, 20)),
    ];
    const results = await Promise.all([first, ...later]);
    expect(results.map((r) => r.delivered)).toEqual([30, 20, 20, 20]);
    expect(ctx.server.requests).toHaveLength(2);
    expect(ctx.server.requests[1]!.body.split("\n")).toEqual([
      ...linesOf("a", 0, 20),
      ...linesOf("b", 0, 20),
      ...linesOf("a", 20, 20),
    ]);
  });

  it("still cut requests at batchLines, across calls", async () => {
    const sink = ctx.open({ maxInFlight: 1, batchLines: 25 });
    const results = await Promise.all([0, 1, 2, 3].map((c) => sink.write(linesOf("a", c * 20, 20))));
    expect(results.map((r) => r.delivered)).toEqual([20, 20, 20, 20]);
    expect(ctx.server.requests.map((r) => r.body.split("\n").length)).toEqual([25, 25, 25, 5]);
    expect(ctx.server.points("db").map((p) => p.timeNs)).toEqual(
      Array.from({ length: 80 }, (_, t) => BigInt(t)),
    );
  });
});

describe("bodies planned by lanes", () => {
  it("carry multi-byte lines intact (the planner's byte count sizes the body)", async () => {
    const sink = ctx.open({ maxInFlight: 2, batchLines: 3 });
    const lines = ["é", "日本", "😀", "a\\ b", "ß"].flatMap((tag, t) =>
      [0, 1, 2].map((s) => `m,s=${tag}${s} v="${tag}…${"ü".repeat(t)}" ${t}`),
    );
    const [a, b] = await Promise.all([sink.write(lines.slice(0, 7)), sink.write(lines.slice(7))]);
    expect(a.delivered + b.delivered).toBe(lines.length);
    const sent = ctx.server.requests.flatMap((r) => r.body.split("\n"));
    expect([...sent].sort()).toEqual([...lines].sort());
  });
});

describe("results", () => {
  it("resolve in call order, even when a later call is answered first", async () => {
    const slow = seriesInLane(0, 2, "slow");
    const fast = seriesInLane(1, 2, "fast");
    const remote = await startScriptedRemote(slowAnd(slow));
    try {
      const sink = ctx.open({ url: remote.url, maxInFlight: 2 });
      const order: string[] = [];
      const track = (name: string, p: Promise<WriteResult>) => p.then((r) => (order.push(name), r));
      const results = await Promise.all([
        track("slow", sink.write(linesOf(slow, 0, 5))),
        track("fast", sink.write(linesOf(fast, 0, 5))),
      ]);
      expect(results.map((r) => r.delivered)).toEqual([5, 5]);
      expect(order).toEqual(["slow", "fast"]);
      await sink.close();
    } finally {
      await remote.close();
    }
  });
});

describe("a lane that could not deliver", () => {
  it("holds back the later calls' lines of its series, until no call is left unanswered", async () => {
    const sink = ctx.open({ maxInFlight: 1, batchLines: 10, maxRetries: 0 });
    ctx.server.faults.failNext(1, { status: 500 });
    const [a, b] = await Promise.all([sink.write(linesOf("a", 0, 10)), sink.write(linesOf("a", 10, 10))]);
    expect(a).toMatchObject({ delivered: 0, notDelivered: 10 });
    expect(b).toMatchObject({ delivered: 0, notDelivered: 10 });
    expect(b.outcomes[0]).toMatchObject({ reason: expect.stringMatching(/^held back/) as string });
    expect(ctx.server.requests).toHaveLength(1);
    // The caller sends them again, in order: nothing is held any more.
    const again = await sink.write([...linesOf("a", 0, 10), ...linesOf("a", 10, 10)]);
    expect(again.delivered).toBe(20);
    expect(ctx.server.points("db").map((p) => p.timeNs)).toEqual(
      Array.from({ length: 20 }, (_, t) => BigInt(t)),
    );
  });
});

describe("a lane's hold", () => {
  it("also covers a call written after the failure while an earlier call is unanswered", async () => {
    const failing = seriesInLane(0, 2, "x");
    const slow = seriesInLane(1, 2, "y");
    const remote = await startScriptedRemote(slowAnd(slow, failing, { status: 500 }));
    try {
      const sink = ctx.open({ url: remote.url, maxInFlight: 2, maxRetries: 0 });
      const a = sink.write(linesOf(failing, 0, 5));
      const b = sink.write(linesOf(slow, 0, 5));
      expect((await a).notDelivered).toBe(5);
      // `b` is still in flight: newer points of the failing series must not overtake the failed ones.
      const c = await sink.write(linesOf(failing, 5, 5));
      expect((await b).delivered).toBe(5);
      expect(c.notDelivered).toBe(5);
      expect(c.outcomes[0]).toMatchObject({ reason: expect.stringMatching(/^held back/) as string });
      await sink.close();
    } finally {
      await remote.close();
    }
  });
});

describe("bodies encoded ahead", () => {
  it("are released when a halt empties their lane, and the call written after the halt is held back", async () => {
    const slow = seriesInLane(0, 2, "slow");
    const halting = seriesInLane(1, 2, "halt");
    const remote = await startScriptedRemote(slowAnd(slow, halting, { status: 401, afterMs: 450 }));
    try {
      const sink = ctx.open({ url: remote.url, maxInFlight: 2, batchLines: 5 });
      // The slow lane sends its second batch with the third encoded ahead when the other lane halts.
      const first = sink.write([...linesOf(slow, 0, 20), ...linesOf(halting, 0, 5)]);
      while (sink.halted === undefined) await new Promise((r) => setTimeout(r, 5));
      const later = sink.write(linesOf(slow, 20, 5));
      expect((await first).halted).toMatch(/^halted: 401/);
      // Written after the halt while the first call was unanswered: held back, so that it cannot overtake
      // the first call's lines the halt left unsent.
      const held = await later;
      expect(held.notDelivered).toBe(5);
      const outcome = held.outcomes[0]!;
      expect(outcome.kind === "not_delivered" ? outcome.reason : outcome.kind).toMatch(/^held back/);
      const { transport } = (sink as unknown as { sender: { transport: { preparedBodies: number } } }).sender;
      expect(transport.preparedBodies).toBe(0);
      await sink.close();
    } finally {
      await remote.close();
    }
  });
});

describe("a halt", () => {
  it("stops the calls already written, and the next call probes with one request", async () => {
    const sink = ctx.open({ maxInFlight: 2, batchLines: 5 });
    ctx.server.faults.failAll({ status: 401 });
    const results = await Promise.all([
      sink.write(makeLines(4, 5)),
      sink.write(makeLines(4, 5)),
      sink.write(makeLines(4, 5)),
    ]);
    for (const r of results) {
      expect(r).toMatchObject({ delivered: 0, rejected: 0, notDelivered: 20 });
      expect(r.halted).toMatch(/^halted: 401/);
    }
    expect(ctx.server.requests.length).toBeLessThanOrEqual(2);
    ctx.server.reset();
    ctx.server.faults.failAll({ status: 401 });
    expect((await sink.write(makeLines(4, 5))).requests).toBe(1);
    ctx.server.faults.clear();
    expect(await sink.write(makeLines(4, 5))).toMatchObject({ delivered: 20, halted: undefined });
    expect(sink.halted).toBeUndefined();
  });
});

describe("close", () => {
  it("answers every call already written: waits end, unsent lines come back not delivered", async () => {
    const sink = ctx.open({ sleep: undefined, maxInFlight: 2, batchLines: 5 });
    ctx.server.faults.failAll({ status: 503, retryAfter: 600 });
    const pending = [0, 1, 2].map((c) => sink.write(linesOf(`c${c}`, 0, 12)));
    while (ctx.server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await sink.close();
    const results = await Promise.all(pending);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const r of results) {
      expect(r).toMatchObject({ delivered: 0, rejected: 0, notDelivered: 12 });
      expect(r.outcomes.every((o) => o.kind === "not_delivered")).toBe(true);
    }
    const reasons = new Set(results.flatMap((r) => r.outcomes.map((o) => (o as { reason: string }).reason)));
    expect(reasons).toContain("sink closed before these lines were sent");
  });
});
