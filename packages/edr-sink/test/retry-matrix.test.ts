import { describe, expect, it, vi } from "vitest";
import { makeLines, recordingLogger, recordingSleep, until, useServer } from "./helpers.js";

const ctx = useServer();
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

describe("204/200: delivered", () => {
  it.each([
    ["v3", "/api/v3/write_lp", { db: "db", precision: "nanosecond", accept_partial: "true" }],
    ["v2", "/api/v2/write", { bucket: "db", precision: "ns" }],
    ["v1", "/write", { db: "db", precision: "n" }],
  ] as const)("writes through %s to %s with Bearer auth", async (writeApi, path, query) => {
    const sink = ctx.open({ writeApi, token: "tok" });
    const lines = makeLines(3, 2);
    const result = await sink.write(lines);
    expect(result).toMatchObject({ delivered: 6, rejected: 0, notDelivered: 0, requests: 1 });
    expect(result.outcomes.every((o) => o.kind === "delivered")).toBe(true);
    const [request] = ctx.server.requests;
    expect(request).toMatchObject({ method: "POST", path, query, body: lines.join("\n") });
    expect(request!.headers.authorization).toBe("Bearer tok");
    expect(ctx.server.points("db")).toHaveLength(6);
  });

  it("never sends blank or comment lines, and counts them delivered", async () => {
    const sink = ctx.open();
    const result = await sink.write(["m v=1 1", "", "# note", "m v=2 2"]);
    expect(result.delivered).toBe(4);
    expect(ctx.server.requests[0]!.body).toBe("m v=1 1\nm v=2 2");
  });

  it("gzips a body above the threshold only", async () => {
    const sink = ctx.open({ gzipThresholdBytes: 100 });
    await sink.write(["small v=1 1"]);
    await sink.write(makeLines(10, 10));
    expect(ctx.server.requests.map((r) => r.headers["content-encoding"])).toEqual([undefined, "gzip"]);
    expect(ctx.server.points("db")).toHaveLength(101);
  });
});

describe("429 and 503: Retry-After, else backoff", () => {
  it.each([429, 503])("waits the seconds %i asks for, then delivers", async (status) => {
    const { waits, sleep } = recordingSleep();
    const sink = ctx.open({ sleep });
    ctx.server.faults.failNext(1, { status, retryAfter: 7 });
    const result = await sink.write(makeLines(2, 2));
    expect(waits).toEqual([7000]);
    expect(result).toMatchObject({ delivered: 4, requests: 2 });
  });

  it("reads Retry-After as an HTTP date", async () => {
    const { waits, sleep } = recordingSleep();
    const sink = ctx.open({ sleep, now: () => NOW });
    ctx.server.faults.failNext(1, { status: 503, retryAfter: new Date(NOW + 42_000) });
    await sink.write(["m v=1 1"]);
    expect(waits).toEqual([42_000]);
  });

  it("caps Retry-After at 10 minutes", async () => {
    const { waits, sleep } = recordingSleep();
    const sink = ctx.open({ sleep });
    ctx.server.faults.failNext(1, { status: 429, retryAfter: 86_400 });
    await sink.write(["m v=1 1"]);
    expect(waits).toEqual([600_000]);
  });

  it("backs off when there is no Retry-After", async () => {
    const { waits, sleep } = recordingSleep();
    const sink = ctx.open({ sleep, random: () => 0.25 });
    ctx.server.faults.failNext(2, { status: 429 });
    await sink.write(["m v=1 1"]);
    expect(waits).toEqual([250, 500]);
  });

  it("really waits with the default sleep (fake timers)", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const sink = ctx.open({ sleep: undefined, timeoutMs: 1e9 });
      ctx.server.faults.failNext(1, { status: 429, retryAfter: 30 });
      const pending = sink.write(["m v=1 1"]);
      await until(() => ctx.server.requests.length === 1);
      await vi.advanceTimersByTimeAsync(29_999);
      expect(ctx.server.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      await until(() => ctx.server.requests.length === 2);
      expect((await pending).delivered).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("500/502/504, refused, reset, timeout: capped exponential backoff with full jitter", () => {
  it("backs off on 500, 502, 504 with doubling ceilings", async () => {
    const { waits, sleep } = recordingSleep();
    const sink = ctx.open({
      sleep,
      random: () => 0.5,
      backoffBaseMs: 1000,
      backoffMaxMs: 3000,
      maxRetries: 5,
    });
    ctx.server.faults.failNext(1, { status: 500 });
    ctx.server.faults.failNext(1, { status: 502 });
    ctx.server.faults.failNext(1, { status: 504 });
    ctx.server.faults.failNext(1, { status: 500 });
    const result = await sink.write(["m v=1 1"]);
    expect(waits).toEqual([500, 1000, 1500, 1500]);
    expect(result.delivered).toBe(1);
    expect(ctx.server.points("db")).toHaveLength(1);
  });

  it("retries a refused connection, and delivers once the remote listens again", async () => {
    const { waits } = recordingSleep();
    const sink = ctx.open({
      sleep: async (ms) => {
        waits.push(ms);
        if (waits.length === 2) await ctx.server.faults.accept();
      },
    });
    await ctx.server.faults.refuse();
    const result = await sink.write(["m v=1 1"]);
    expect(waits).toEqual([500, 1000]);
    expect(result).toMatchObject({ delivered: 1, requests: 3 });
  });

  it("reports a refused connection as not delivered, not stored", async () => {
    const sink = ctx.open({ maxRetries: 1, now: () => NOW });
    await ctx.server.faults.refuse();
    try {
      const result = await sink.write(["m v=1 1"]);
      expect(result.outcomes[0]).toEqual({
        kind: "not_delivered",
        retryAt: NOW + 1000,
        reason: expect.stringContaining("ECONNREFUSED") as string,
        mayBeStored: false,
      });
    } finally {
      await ctx.server.faults.accept();
    }
  });

  it("retries a connection reset after the body was sent", async () => {
    const sink = ctx.open();
    ctx.server.faults.dropNextConnection(1);
    const result = await sink.write(makeLines(2, 2));
    expect(result).toMatchObject({ delivered: 4, requests: 2 });
    expect(ctx.server.points("db")).toHaveLength(4);
  });

  it("retries a timed-out request", async () => {
    const sink = ctx.open({ timeoutMs: 200 });
    ctx.server.faults.stall(1);
    const result = await sink.write(["m v=1 1"]);
    expect(result).toMatchObject({ delivered: 1, requests: 2 });
  });

  it("reports a timed-out write as not delivered that may have been stored", async () => {
    const sink = ctx.open({ timeoutMs: 100, maxRetries: 0 });
    ctx.server.faults.stall(1);
    const result = await sink.write(["m v=1 1"]);
    expect(result.outcomes[0]).toMatchObject({
      kind: "not_delivered",
      mayBeStored: true,
      reason: "timed out after 100 ms (the remote may have stored it); gave up after 1 attempt",
    });
  });
});

describe("413: split in halves; one line over the limit is rejected", () => {
  const small = useServer({ maxRequestBytes: 2000 });

  it("splits until the pieces fit and rejects only the oversized line", async () => {
    const sink = small.open({ gzipThresholdBytes: 1e9 });
    const lines = makeLines(5, 20); // 100 lines of ~26 bytes: too big for one request
    const huge = `m,host=big v="${"x".repeat(3000)}" 5`;
    const result = await sink.write([...lines.slice(0, 50), huge, ...lines.slice(50)]);
    expect(result).toMatchObject({ delivered: 100, rejected: 1, notDelivered: 0 });
    expect(result.outcomes[50]).toMatchObject({ kind: "rejected", status: 413 });
    expect((result.outcomes[50] as { message: string }).message).toContain("max request size");
    expect(small.server.points("db")).toHaveLength(100);
  });

  const medium = useServer({ maxRequestBytes: 200_000 });

  it("plans later calls under the size the remote refused", async () => {
    const logger = recordingLogger();
    const sink = medium.open({ gzipThresholdBytes: 1e9, logger });
    const lines = makeLines(10, 1000); // 10,000 lines, ~260 kB: one batch, over the limit
    expect((await sink.write(lines)).delivered).toBe(10_000);
    expect(logger.lines.some((l) => l.startsWith("warn the remote refused a") && l.includes("(413)"))).toBe(
      true,
    );
    medium.server.reset();
    expect((await sink.write(lines)).delivered).toBe(10_000);
    // No request was refused (a refused body is recorded empty): every one carried lines, 10,000 in all.
    const bodies = medium.server.requests.map((r) => r.body);
    expect(bodies.every((b) => b.length > 0 && Buffer.byteLength(b) <= 200_000)).toBe(true);
    expect(bodies.join("\n").split("\n")).toHaveLength(10_000);
  });

  it("splits a batch on an injected 413 and sends the halves in order", async () => {
    const sink = ctx.open();
    ctx.server.faults.failNext(1, { status: 413 });
    const lines = makeLines(1, 8);
    const result = await sink.write(lines);
    expect(result).toMatchObject({ delivered: 8, requests: 3 });
    expect(ctx.server.requests.slice(1).map((r) => r.body)).toEqual([
      lines.slice(0, 4).join("\n"),
      lines.slice(4).join("\n"),
    ]);
  });
});

describe("400/422 on v3: partial write", () => {
  it("delivers the good lines and rejects the listed ones by line number", async () => {
    const sink = ctx.open();
    const lines = ["m v=1 1", "m v=oops 2", "m v=3 3", 'm,host=a v="str" 4', "m v=5 5"];
    const result = await sink.write(lines);
    expect(result).toMatchObject({ delivered: 3, rejected: 2, notDelivered: 0, requests: 1 });
    expect(result.outcomes[1]).toMatchObject({ kind: "rejected", status: 400 });
    expect(result.outcomes[3]).toMatchObject({ kind: "rejected", status: 400 });
    expect(ctx.server.points("db").map((p) => p.timeNs)).toEqual([1n, 3n, 5n]);
  });

  it("maps 422 line numbers too", async () => {
    const sink = ctx.open();
    const body = JSON.stringify({
      error: "partial write of line protocol occurred",
      data: [{ error_message: "too many columns", line_number: 2, original_line: "m,b=1 v=2 2" }],
    });
    ctx.server.faults.failNext(1, { status: 422, body });
    const result = await sink.write(["m,a=1 v=1 1", "m,b=1 v=2 2"]);
    expect(result.outcomes).toEqual([
      { kind: "delivered" },
      { kind: "rejected", status: 422, message: "too many columns" },
    ]);
  });

  it("bisects a v3 400 whose body names no lines", async () => {
    const sink = ctx.open();
    ctx.server.faults.failNext(1, { status: 400, body: '{"error":"something else"}' });
    const result = await sink.write(makeLines(1, 4));
    expect(result).toMatchObject({ delivered: 4, requests: 3 });
  });
});

describe("400 on v1/v2: bisect to the bad lines", () => {
  it.each(["v1", "v2"] as const)("rejects only the bad lines on %s and stores the rest", async (writeApi) => {
    const sink = ctx.open({ writeApi });
    const lines = makeLines(4, 16);
    lines[5] = "m,host=h1 v=bad 6";
    lines[40] = "m,host=h0 v=1i,v=2i 7";
    const result = await sink.write(lines);
    expect(result).toMatchObject({ delivered: 62, rejected: 2, notDelivered: 0 });
    expect(result.outcomes[5]).toMatchObject({ kind: "rejected", status: 400 });
    expect(result.outcomes[40]).toMatchObject({ kind: "rejected", status: 400 });
    expect(ctx.server.points("db")).toHaveLength(62);
    expect(result.requests).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(64));
  });
});

describe("401/403/404: halt, reject nothing, resume on a later success", () => {
  it.each([401, 403, 404])("halts on %i", async (status) => {
    const logger = recordingLogger();
    const sink = ctx.open({ logger, batchLines: 2, maxInFlight: 1, now: () => NOW, haltPauseMs: 5000 });
    ctx.server.faults.failAll({ status, body: JSON.stringify({ error: "no such thing" }) });
    const result = await sink.write(makeLines(1, 10));
    expect(result).toMatchObject({ delivered: 0, rejected: 0, notDelivered: 10, requests: 1 });
    expect(result.halted).toBe(`halted: ${status} no such thing`);
    expect(sink.halted).toBe(result.halted);
    expect(result.outcomes[9]).toMatchObject({ kind: "not_delivered", retryAt: NOW + 5000 });
    expect(logger.lines.some((l) => l.startsWith(`warn halted: ${status}`))).toBe(true);

    const again = await sink.write(makeLines(1, 2));
    expect(again.halted).toBeDefined();
    ctx.server.faults.clear();
    const resumed = await sink.write(makeLines(1, 2));
    expect(resumed).toMatchObject({ delivered: 2, halted: undefined });
    expect(sink.halted).toBeUndefined();
  });

  it("sends one request alone while halted, and the rest only once it succeeds", async () => {
    const sink = ctx.open({ batchLines: 5, maxInFlight: 4 });
    ctx.server.faults.failAll({ status: 403 });
    expect((await sink.write(makeLines(16, 5))).halted).toMatch(/^halted: 403/);
    ctx.server.reset();
    ctx.server.faults.failAll({ status: 403 });
    const still = await sink.write(makeLines(16, 5));
    expect(still).toMatchObject({ delivered: 0, rejected: 0, notDelivered: 80 });
    expect(ctx.server.requests).toHaveLength(1);
    ctx.server.reset();
    const resumed = await sink.write(makeLines(16, 5));
    expect(resumed).toMatchObject({ delivered: 80, halted: undefined });
    expect(sink.halted).toBeUndefined();
  });

  it("stops every lane and all waits when one lane halts", async () => {
    const sink = ctx.open({ batchLines: 5, maxInFlight: 4, sleep: undefined });
    ctx.server.faults.failNext(1, { status: 401 });
    ctx.server.faults.failAll({ status: 503, retryAfter: 600 });
    const started = Date.now();
    const result = await sink.write(makeLines(16, 5));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ delivered: 0, rejected: 0, notDelivered: 80 });
    expect(result.halted).toMatch(/^halted: 401/);
    expect(ctx.server.requests.length).toBeLessThanOrEqual(4);
  });
});

describe("max_retries", () => {
  it("bounds attempts per request in one call and returns the rest not delivered", async () => {
    const { waits, sleep } = recordingSleep();
    const sink = ctx.open({ sleep, maxRetries: 2, now: () => NOW, maxInFlight: 1 });
    ctx.server.faults.failAll({ status: 503, retryAfter: 9 });
    const result = await sink.write(makeLines(2, 3));
    expect(ctx.server.requests).toHaveLength(3);
    expect(waits).toEqual([9000, 9000]);
    expect(result).toMatchObject({ delivered: 0, notDelivered: 6, retryAt: NOW + 9000 });
    expect(result.outcomes[0]).toMatchObject({
      reason: "503 injected fault: 503; gave up after 3 attempts",
    });
  });

  it("holds back the later batches of a lane whose batch was not delivered", async () => {
    const sink = ctx.open({ maxRetries: 0, batchLines: 2, maxInFlight: 1 });
    ctx.server.faults.failNext(1, { status: 500 });
    const result = await sink.write(makeLines(1, 6));
    expect(ctx.server.requests).toHaveLength(1);
    expect(result.notDelivered).toBe(6);
    expect(result.outcomes[5]).toMatchObject({ reason: expect.stringMatching(/^held back/) as string });
  });
});

describe("a lane that fails while later lines are still being planned", () => {
  it("holds back every later batch of that lane, planned before or after the failure", async () => {
    const sink = ctx.open({ maxRetries: 0, batchLines: 1000, maxInFlight: 1 });
    ctx.server.faults.failNext(1, { status: 500 });
    const lines = makeLines(10, 60_000); // 600,000 lines: planned in twelve slices
    const result = await sink.write(lines);
    expect(result.outcomes.filter((o) => o === undefined)).toHaveLength(0);
    expect(result).toMatchObject({ delivered: 0, notDelivered: lines.length });
    expect(ctx.server.requests).toHaveLength(1);
  });
});
