import * as http from "node:http";
import * as net from "node:net";
import { describe, expect, it, vi } from "vitest";
import { SinkError, createSink, type AnswerEvent } from "../src/index.js";
import { makeLines, recordingLogger, useServer } from "./helpers.js";

const ctx = useServer({ token: "s3cr3t-T0KEN" });
const TOKEN = "s3cr3t-T0KEN";

describe("createSink", () => {
  it("lists every invalid option at once, without the token", () => {
    let error: unknown;
    try {
      createSink({
        url: "ftp://example",
        database: "",
        token: TOKEN,
        maxInFlight: 0,
        batchLines: 1.5,
        writeApi: "v4" as "v3",
        caFile: "/nonexistent/ca.pem",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SinkError);
    expect((error as SinkError).code).toBe("INVALID_ARGUMENT");
    expect((error as Error).message).toMatchInlineSnapshot(`
      "[edr-sink] invalid options:
        url: expected an http:// or https:// URL, got protocol "ftp:"
        database: expected a non-empty string, got ""
        writeApi: expected "v3", "v2" or "v1", got "v4"
        batchLines: expected an integer >= 1, got 1.5
        maxInFlight: expected an integer from 1 to 64, got 0
        caFile: expected a readable PEM file, got "/nonexistent/ca.pem" (ENOENT)"
    `);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it("keeps a path prefix of the URL (a proxy in front of the remote)", async () => {
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? "");
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const sink = ctx.open({ url: `http://127.0.0.1:${port}/influx/`, database: "d b" });
      expect((await sink.write(["m v=1 1"])).delivered).toBe(1);
      await sink.close();
      expect(paths).toEqual(["/influx/api/v3/write_lp?db=d%20b&precision=nanosecond&accept_partial=true"]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("applies the port rule: `port` overrides the URL's port", async () => {
    const url = new URL(ctx.server.url);
    const sink = ctx.open({ url: `http://127.0.0.1:1`, port: Number(url.port), token: TOKEN });
    expect((await sink.write(["m v=1 1"])).delivered).toBe(1);
  });
});

describe("write", () => {
  it("ends a request after a line InfluxDB 3 would read on into the next, so no line is swallowed", async () => {
    // Stored alone by the local instance (the last line of its body), its quote opens a "string" by InfluxDB
    // 3's splitting rules: lines after it in one body would be read as part of it (bad-input seed 1582160175).
    const open = 'm,t=a f=1,u1u,s="=x" 5';
    for (const maxInFlight of [1, 4]) {
      ctx.server.reset();
      const sink = ctx.open({ token: TOKEN, maxInFlight });
      const lines = ["a f=1 1", open, "b f=2 2", "c f=3 3"];
      const result = await sink.write(lines);
      await sink.close();
      expect(result.delivered).toBe(4);
      expect(
        ctx.server
          .points("db")
          .map((p) => p.measurement)
          .sort(),
      ).toEqual(["a", "b", "c", "m"]);
      const carrying = ctx.server.requests.filter((r) => r.body.includes(open));
      expect(carrying).toHaveLength(1);
      expect(carrying[0]!.body.endsWith(open)).toBe(true);
    }
  });

  it("keeps every series in order across lanes and batches", async () => {
    const sink = ctx.open({ token: TOKEN, batchLines: 37, maxInFlight: 4 });
    const lines = makeLines(23, 40);
    const result = await sink.write(lines);
    expect(result.delivered).toBe(lines.length);
    expect(result.requests).toBeGreaterThan(20);
    const sizes = new Set(ctx.server.requests.map((r) => r.body.split("\n").length));
    expect(sizes.size).toBeGreaterThan(1);
    const times = new Map<string, bigint[]>();
    for (const p of ctx.server.points("db"))
      times.set(p.tags.host!, [...(times.get(p.tags.host!) ?? []), p.timeNs]);
    expect(times.size).toBe(23);
    for (const list of times.values()) {
      expect(list).toEqual(Array.from({ length: 40 }, (_, t) => BigInt(1_000_000 + t)));
    }
  });

  it("sends up to maxInFlight requests at once", async () => {
    const sink = ctx.open({ token: TOKEN, batchLines: 10, maxInFlight: 4 });
    ctx.server.faults.delay(200);
    const started = Date.now();
    const result = await sink.write(makeLines(40, 10)); // 400 lines, 40 batches in 4 lanes
    const elapsed = Date.now() - started;
    expect(result.delivered).toBe(400);
    // Sequentially 40 x 200 ms = 8 s; four at a time about 2 s.
    expect(elapsed).toBeLessThan(5000);
  });

  it("keeps the points of a series in call order when calls overlap", async () => {
    const sink = ctx.open({ token: TOKEN });
    const [a, b] = await Promise.all([sink.write(["m v=1 1"]), sink.write(["m v=2 1"])]);
    expect(a.delivered + b.delivered).toBe(2);
    expect(ctx.server.points("db")[0]!.fields.v).toEqual({ type: "float", value: 2 });
  });

  it("keeps one keep-alive connection for sequential writes", async () => {
    let connections = 0;
    const upstream = new URL(ctx.server.url);
    const proxy = net.createServer((socket) => {
      connections++;
      const out = net.connect(Number(upstream.port), "127.0.0.1");
      socket.pipe(out).pipe(socket);
      socket.on("error", () => out.destroy());
      out.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const port = (proxy.address() as net.AddressInfo).port;
      const sink = ctx.open({ url: `http://127.0.0.1:${port}`, token: TOKEN });
      for (let i = 0; i < 10; i++) expect((await sink.write([`m v=${i} ${i}`])).delivered).toBe(1);
      expect(connections).toBe(1);
      await sink.close();
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("rejects what is not an array of strings as a programming error", async () => {
    const sink = ctx.open({ token: TOKEN });
    await expect(sink.write("m v=1" as unknown as string[])).rejects.toThrow(
      "[edr-sink] write: expected an array of line-protocol strings, got string",
    );
    await expect(sink.write(["m v=1 1", 5 as unknown as string])).rejects.toThrow(
      "[edr-sink] write: line 1: expected a string, got number",
    );
  });

  it("answers an empty write without a request", async () => {
    const sink = ctx.open({ token: TOKEN });
    expect(await sink.write([])).toMatchObject({ delivered: 0, requests: 0, outcomes: [] });
    expect(ctx.server.requests).toHaveLength(0);
  });
});

describe("onAnswer", () => {
  it("hears every request's answer and what the sink did about it", async () => {
    const answers: AnswerEvent[] = [];
    const sink = ctx.open({ token: TOKEN, onAnswer: (answer) => answers.push(answer), maxRetries: 2 });
    ctx.server.faults.failNext(1, { status: 503, retryAfter: 0 });
    ctx.server.faults.failNext(1, { status: 429, retryAfter: 0 });
    const result = await sink.write(["m v=1 1", "m v=2 2"]);
    expect(result.delivered).toBe(2);
    expect(answers).toEqual([
      { status: 503, failure: undefined, lines: 2, action: "wait" },
      { status: 429, failure: undefined, lines: 2, action: "wait" },
      { status: 204, failure: undefined, lines: 2, action: "deliver" },
    ]);
  });
});

describe("the token", () => {
  it("never appears in an outcome, a log line or a halt reason, even when the remote echoes it", async () => {
    const logger = recordingLogger();
    const echo = JSON.stringify({ error: `bad token Bearer ${TOKEN}` });
    const sink = ctx.open({ token: TOKEN, logger, maxRetries: 1, maxInFlight: 1, batchLines: 1 });
    ctx.server.faults.failNext(2, { status: 500, body: echo });
    ctx.server.faults.failNext(1, {
      status: 400,
      body: JSON.stringify({
        error: "partial write of line protocol occurred",
        data: [{ error_message: `token ${TOKEN} refused`, line_number: 1, original_line: "m v=2 2" }],
      }),
    });
    ctx.server.faults.failNext(1, { status: 401, body: echo });
    const results = [
      await sink.write(["m v=1 1"]),
      await sink.write(["m v=2 2"]),
      await sink.write(["m v=3 3"]),
    ];
    expect(results.map((r) => [r.notDelivered, r.rejected, r.halted !== undefined])).toEqual([
      [1, 0, false],
      [0, 1, false],
      [1, 0, true],
    ]);
    const everything = JSON.stringify({ results, logs: logger.lines, halted: sink.halted });
    expect(everything).toContain("***");
    expect(everything).not.toContain(TOKEN);
  });

  it("is sent as a Bearer header only, never in the URL", async () => {
    const sink = ctx.open({ token: TOKEN, writeApi: "v1" });
    await sink.write(["m v=1 1"]);
    const [request] = ctx.server.requests;
    expect(request!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.stringify(request!.query)).not.toContain(TOKEN);
  });
});

describe("the client's logging", () => {
  it("is silenced on the console and routed to the sink's logger", async () => {
    const consoleSpies = (["log", "warn", "error", "info", "debug"] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => undefined),
    );
    try {
      const logger = recordingLogger();
      const sink = ctx.open({ token: TOKEN, logger, maxRetries: 0 });
      ctx.server.faults.failNext(1, { status: 500 });
      await sink.write(["m v=1 1"]);
      for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
      expect(logger.lines).toContain(
        "debug [influxdb3-client] Write to InfluxDB failed.: injected fault: 500",
      );
    } finally {
      for (const spy of consoleSpies) spy.mockRestore();
    }
  });
});

describe("the client's logging with several sinks", () => {
  it("reaches the logger of the sink whose request failed, only", async () => {
    const a = recordingLogger();
    const b = recordingLogger();
    const sinkA = ctx.open({ token: TOKEN, logger: a, maxRetries: 0 });
    const sinkB = ctx.open({ token: TOKEN, logger: b, maxRetries: 0, database: "other" });
    ctx.server.faults.failNext(1, { status: 500 });
    await sinkA.write(["m v=1 1"]);
    await sinkB.write(["m v=1 1"]);
    expect(a.lines.filter((l) => l.includes("[influxdb3-client]"))).toHaveLength(1);
    expect(b.lines.filter((l) => l.includes("[influxdb3-client]"))).toHaveLength(0);
  });
});

describe("close", () => {
  it("is idempotent and later writes throw", async () => {
    const sink = ctx.open({ token: TOKEN });
    await sink.write(["m v=1 1"]);
    await Promise.all([sink.close(), sink.close()]);
    await sink.close();
    await expect(sink.write(["m v=1 1"])).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("waits for requests in flight, which finish with their real outcome", async () => {
    const sink = ctx.open({ token: TOKEN });
    ctx.server.faults.delay(300);
    const pending = sink.write(["m v=1 1"]);
    while (ctx.server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await sink.close();
    expect((await pending).delivered).toBe(1);
    expect(ctx.server.points("db")).toHaveLength(1);
  });

  it("ends a pending Retry-After wait: its lines come back not delivered", async () => {
    const sink = ctx.open({ token: TOKEN, sleep: undefined });
    ctx.server.faults.failAll({ status: 503, retryAfter: 600 });
    const pending = sink.write(["m v=1 1"]);
    while (ctx.server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await sink.close();
    const result = await pending;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.outcomes[0]).toMatchObject({
      kind: "not_delivered",
      reason: "sink closed before these lines were sent",
    });
  });
});
