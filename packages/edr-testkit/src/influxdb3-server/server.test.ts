import { request } from "node:http";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { TestServerError } from "./errors.js";
import { startInfluxDB3Server, type InfluxDB3ServerOptions, type InfluxDB3TestServer } from "./server.js";

const open: InfluxDB3TestServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function start(options: InfluxDB3ServerOptions = {}): Promise<InfluxDB3TestServer> {
  const server = await startInfluxDB3Server(options);
  open.push(server);
  return server;
}

async function call(
  server: InfluxDB3TestServer,
  path: string,
  init: {
    method?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    timeoutMs?: number;
  } = {},
) {
  const res = await fetch(server.url + path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    ...(init.body !== undefined && { body: init.body }),
    headers: init.headers ?? {},
    signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}
const write = (server: InfluxDB3TestServer, body = "m f=1 1") =>
  call(server, "/api/v3/write_lp?db=d&precision=s", { body });

describe("health, ping and databases", () => {
  it("answers /health with OK and /ping with the version", async () => {
    const server = await start();
    expect(await call(server, "/health")).toMatchObject({ status: 200, body: "OK" });
    const ping = await call(server, "/ping");
    expect(ping.status).toBe(200);
    expect(JSON.parse(ping.body)).toEqual({ version: "3.10.0", revision: "edr-testkit" });
  });

  it("creates a database with 200, then 409", async () => {
    const server = await start();
    const create = () =>
      call(server, "/api/v3/configure/database", {
        body: '{"db":"new_db"}',
        headers: { "content-type": "application/json" },
      });
    expect(await create()).toMatchObject({ status: 200, body: "" });
    expect(await create()).toMatchObject({
      status: 409,
      body: '{"error":"attempted to create a resource that already exists: database \\"new_db\\""}',
    });
    expect(
      await call(server, "/api/v3/configure/database", {
        body: '{"db":"x"}',
        headers: { "content-type": "text/plain" },
      }),
    ).toMatchObject({ status: 400 });
  });

  it("answers 422 for a sixth database, as Core's limit of five", async () => {
    const server = await start();
    for (const db of ["a", "b", "c", "d", "e"]) {
      expect((await call(server, `/api/v3/write_lp?db=${db}`, { body: "m f=1 1" })).status).toBe(204);
    }
    expect(await call(server, "/api/v3/write_lp?db=f", { body: "m f=1 1" })).toMatchObject({
      status: 422,
      body: '{"error":"adding database \\"f\\" would exceed the limit of 5 databases"}',
    });
  });

  it("answers 404 on an unknown path and 405 on a wrong method", async () => {
    const server = await start();
    expect((await call(server, "/api/v3/nope")).status).toBe(404);
    expect((await call(server, "/api/v3/write_lp?db=d")).status).toBe(405);
  });
});

describe("token auth", () => {
  const basic = (user: string, password: string) =>
    "Basic " + Buffer.from(`${user}:${password}`).toString("base64");

  it.each([
    ["Bearer", { authorization: "Bearer sekret" }],
    ["Token", { authorization: "Token sekret" }],
    ["Basic (user ignored)", { authorization: basic("anyone", "sekret") }],
  ])("accepts %s", async (_name, headers) => {
    const server = await start({ token: "sekret" });
    expect((await call(server, "/api/v3/write_lp?db=d", { body: "m f=1 1", headers })).status).toBe(204);
    expect((await call(server, "/health", { headers })).status).toBe(200);
  });

  it("answers 401 with the InfluxDB 3 body when the token is missing or wrong, on every endpoint", async () => {
    const server = await start({ token: "sekret" });
    const unauthenticated = { status: 401, body: '{"error":"the request was not authenticated"}' };
    expect(await call(server, "/api/v3/write_lp?db=d", { body: "m f=1 1" })).toMatchObject(unauthenticated);
    expect(await call(server, "/health")).toMatchObject(unauthenticated);
    expect(await call(server, "/ping", { headers: { authorization: "Bearer nope" } })).toMatchObject(
      unauthenticated,
    );
    expect(
      await call(server, "/api/v2/write?bucket=d", {
        body: "m f=1",
        headers: { authorization: basic("u", "x") },
      }),
    ).toMatchObject(unauthenticated);
    expect(server.points("d")).toEqual([]);
  });

  it("answers 400 to a malformed Authorization header", async () => {
    const server = await start({ token: "sekret" });
    for (const authorization of [
      "sekret",
      "Digest sekret",
      "Bearer",
      "Basic !!!",
      basic("no-colon", "").slice(0, 6) + "bm9jb2xvbg==",
    ]) {
      expect(await call(server, "/health", { headers: { authorization } })).toMatchObject({
        status: 400,
        body: '{"error":"authorization header was malformed"}',
      });
    }
  });

  it("takes ?p= on v1 /write only", async () => {
    const server = await start({ token: "sekret" });
    expect((await call(server, "/write?db=d&u=x&p=sekret", { body: "m f=1 1" })).status).toBe(204);
    expect((await call(server, "/api/v3/write_lp?db=d&p=sekret", { body: "m f=1 1" })).status).toBe(401);
  });
});

describe("request size limit", () => {
  it("answers 413 with the exact text over 10 MiB on the wire", async () => {
    const server = await start();
    const res = await write(server, "m f=1 1\n".padEnd(10 * 1024 * 1024 + 1, "#"));
    expect(res).toMatchObject({ status: 413, body: "max request size (10485760 bytes) exceeded" });
    expect(server.points("d")).toEqual([]);
  });

  it("answers 413 when the body grows over the limit once gunzipped, and accepts exactly the limit", async () => {
    const server = await start({ maxRequestBytes: 1000 });
    const atLimit = "m f=1 1\n".padEnd(1000, "#");
    const ok = await call(server, "/api/v3/write_lp?db=d&precision=s", {
      body: gzipSync(atLimit),
      headers: { "content-encoding": "gzip" },
    });
    expect(ok.status).toBe(204);
    const over = await call(server, "/api/v3/write_lp?db=d&precision=s", {
      body: Buffer.concat([gzipSync(atLimit), gzipSync("\n")]),
      headers: { "content-encoding": "gzip" },
    });
    expect(over).toMatchObject({ status: 413, body: "max request size (1000 bytes) exceeded" });
    expect((await write(server, "m f=1 1".padEnd(1001, " "))).status).toBe(413);
  });

  it("answers the 413 on /api/v2/write as a v2 error body", async () => {
    const server = await start({ maxRequestBytes: 10 });
    expect(await call(server, "/api/v2/write?bucket=b", { body: "m f=1 12345" })).toMatchObject({
      status: 413,
      body: '{"code":"request too large","message":"max request size (10 bytes) exceeded"}',
    });
  });
});

describe("inspection", () => {
  it("records method, path, query, headers and the decoded body of every request", async () => {
    const server = await start();
    await call(server, "/api/v3/write_lp?db=d&precision=s", {
      body: gzipSync("m f=1 1"),
      headers: { "content-encoding": "gzip", "x-test": "yes" },
    });
    await call(server, "/health");
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]).toMatchObject({
      method: "POST",
      path: "/api/v3/write_lp",
      query: { db: "d", precision: "s" },
      body: "m f=1 1",
    });
    expect(server.requests[0]?.headers["x-test"]).toBe("yes");
    expect(server.requests[1]).toMatchObject({ method: "GET", path: "/health", query: {}, body: "" });
  });

  it("reset() forgets data, requests and faults", async () => {
    const server = await start();
    await write(server);
    server.faults.failAll({ status: 500 });
    server.reset();
    expect(server.points("d")).toEqual([]);
    expect(server.requests).toEqual([]);
    expect((await write(server)).status).toBe(204);
  });
});

describe("fault switches", () => {
  it("failNext answers the next n writes with status, body and Retry-After in seconds", async () => {
    const server = await start();
    server.faults.failNext(2, { status: 429, body: "slow down", retryAfter: 7 });
    expect((await call(server, "/health")).status).toBe(200); // not a write: untouched
    for (let i = 0; i < 2; i++) {
      const res = await write(server);
      expect(res).toMatchObject({ status: 429, body: "slow down" });
      expect(res.headers.get("retry-after")).toBe("7");
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    }
    expect((await write(server)).status).toBe(204);
    expect(server.points("d")).toHaveLength(1);
    expect(server.requests.filter((r) => r.path === "/api/v3/write_lp")).toHaveLength(3);
  });

  it("queues several failNext calls in the order they were set, before failAll", async () => {
    const server = await start();
    server.faults.failAll({ status: 503 });
    server.faults.failNext(1, { status: 500 });
    server.faults.failNext(2, { status: 502 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await write(server)).status);
    expect(statuses).toEqual([500, 502, 502, 503, 503]);
  });

  it("failAll sends Retry-After as an HTTP date and a default JSON body, until clear()", async () => {
    const server = await start();
    const at = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    server.faults.failAll({ status: 503, retryAfter: at });
    for (let i = 0; i < 3; i++) {
      const res = await write(server);
      expect(res).toMatchObject({ status: 503, body: '{"error":"injected fault: 503"}' });
      expect(res.headers.get("retry-after")).toBe("Wed, 02 Jan 2030 03:04:05 GMT");
    }
    server.faults.clear();
    expect((await write(server)).status).toBe(204);
  });

  it("failFraction with a seed fails the same share of requests on every run", async () => {
    const run = async () => {
      const server = await start();
      server.faults.failFraction(0.5, { status: 500, retryAfter: "later" }, 42);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await write(server, `m f=1 ${i}`)).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    const failed = first.filter((s) => s === 500).length;
    expect(failed).toBeGreaterThan(4);
    expect(failed).toBeLessThan(16);
    expect(() => open[0]!.faults.failFraction(1.5, { status: 500 })).toThrow(TestServerError);
  });

  it("faults can target queries or every request", async () => {
    const server = await start();
    server.faults.failNext(1, { status: 500, on: "query" });
    expect((await write(server)).status).toBe(204);
    expect((await call(server, "/api/v3/query_sql?db=d&q=SHOW%20TABLES")).status).toBe(500);
    server.faults.failNext(1, { status: 502, on: "any" });
    expect((await call(server, "/health")).status).toBe(502);
  });

  it("delay answers matching requests only after the delay", async () => {
    const server = await start();
    server.faults.delay(150);
    let t = performance.now();
    expect((await write(server)).status).toBe(204);
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
    t = performance.now();
    await call(server, "/health");
    expect(performance.now() - t).toBeLessThan(140);
    server.faults.delay(0);
    t = performance.now();
    await write(server);
    expect(performance.now() - t).toBeLessThan(140);
  });

  it("dropNextConnection reads the body, then cuts the connection without an answer", async () => {
    const server = await start();
    server.faults.dropNextConnection(1);
    await expect(write(server, "m f=1 1")).rejects.toThrow();
    expect(server.requests[0]?.body).toBe("m f=1 1");
    expect(server.points("d")).toEqual([]);
    expect((await write(server)).status).toBe(204);
  });

  it("stall never answers; close() still ends at once", async () => {
    const server = await start();
    server.faults.stall(1);
    await expect(
      call(server, "/api/v3/write_lp?db=d", { body: "m f=1 1", timeoutMs: 200 }),
    ).rejects.toThrow();
    expect(server.requests).toHaveLength(1);
    // a request whose body never ends must not hold close() up either
    const hanging = rawPost(server, "/api/v3/write_lp?db=d");
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await server.close();
    expect(performance.now() - t).toBeLessThan(500);
    await expect(hanging).rejects.toThrow();
  });

  it("cutNextResponse stores a write, then loses its answer", async () => {
    const server = await start();
    server.faults.cutNextResponse(1);
    await expect(write(server, "m f=1 1")).rejects.toThrow();
    expect(server.points("d")).toHaveLength(1);
    expect((await write(server, "m f=2 2")).status).toBe(204);
  });

  it("cutNextResponse on a query sends the 200 and part of the rows, then ends the stream early", async () => {
    const server = await start();
    await write(server, "m f=1 1\nm f=2 2");
    server.faults.cutNextResponse(1, { afterBytes: 10, on: "query" });
    const res = await fetch(`${server.url}/api/v3/query_sql?db=d&q=SELECT%20*%20FROM%20m&format=jsonl`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    server.faults.cutNextResponse(1, { afterBytes: 0, on: "query" });
    const empty = await fetch(`${server.url}/api/v3/query_sql?db=d&q=SELECT%20*%20FROM%20m`);
    expect(empty.status).toBe(200);
    await expect(empty.text()).rejects.toThrow();
    const whole = await fetch(`${server.url}/api/v3/query_sql?db=d&q=SELECT%20f%20FROM%20m`);
    expect(await whole.text()).toBe('[{"f":1.0},{"f":2.0}]');
  });

  it("perRequest decides each matching request's fault from the request, before the other switches", async () => {
    const server = await start();
    const seen: string[] = [];
    server.faults.failNext(1, { status: 500 });
    server.faults.perRequest((request) => {
      seen.push(request.body);
      const n = Number(/f=(\d+)/.exec(request.body)?.[1]);
      if (n === 1) return { kind: "fail", status: 429, retryAfter: 3 };
      if (n === 2) return { kind: "fail", status: 503, retryAfter: new Date(Date.UTC(2030, 0, 1)) };
      if (n === 3) return { kind: "drop" };
      if (n === 4) return { kind: "cut" };
      if (n === 5) return { kind: "stall" };
      if (n === 6) return { kind: "delay", ms: 150 };
      return undefined;
    });
    const r1 = await write(server, "m f=1 1");
    expect(r1.status).toBe(429);
    expect(r1.headers.get("retry-after")).toBe("3");
    const r2 = await write(server, "m f=2 2");
    expect(r2.status).toBe(503);
    expect(r2.headers.get("retry-after")).toBe("Tue, 01 Jan 2030 00:00:00 GMT");
    await expect(write(server, "m f=3 3")).rejects.toThrow();
    await expect(write(server, "m f=4 4")).rejects.toThrow();
    await expect(
      call(server, "/api/v3/write_lp?db=d&precision=s", { body: "m f=5 5", timeoutMs: 200 }),
    ).rejects.toThrow();
    let t = performance.now();
    expect((await write(server, "m f=6 6")).status).toBe(204);
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
    // Not chosen: the other switches apply (the failNext set before), then the request is handled.
    expect((await write(server, "m f=7 7")).status).toBe(500);
    expect((await write(server, "m f=8 8")).status).toBe(204);
    expect((await call(server, "/health")).status).toBe(200); // not a write: the chooser is not asked
    expect(seen).toEqual([
      "m f=1 1",
      "m f=2 2",
      "m f=3 3",
      "m f=4 4",
      "m f=5 5",
      "m f=6 6",
      "m f=7 7",
      "m f=8 8",
    ]);
    // Stored: the cut write (its answer lost), the delayed one and the last; not the dropped or failed ones.
    expect(server.points("d").map((p) => p.fields["f"]?.value)).toEqual([4, 6, 8]);
    server.faults.clear();
    t = performance.now();
    expect((await write(server, "m f=6 9")).status).toBe(204);
    expect(performance.now() - t).toBeLessThan(140);
    server.faults.perRequest(() => ({ kind: "delay", ms: -1 }));
    expect((await write(server, "m f=1 10")).status).toBe(500); // a chooser's bad fault: the server's 500
    server.faults.perRequest(undefined);
    expect((await write(server, "m f=1 11")).status).toBe(204);
  });

  it("perRequest answerLate stores the write when it arrives and answers after the delay", async () => {
    const server = await start();
    server.faults.perRequest((request) =>
      request.body.includes("f=1") ? { kind: "answerLate", ms: 300 } : undefined,
    );
    const t = performance.now();
    const late = write(server, "m f=1 1");
    // A write sent after it, answered at once, is stored after it: arrival order, as InfluxDB 3 applies writes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.points("d").map((p) => p.fields["f"]?.value)).toEqual([1]);
    expect((await write(server, "m f=2 1")).status).toBe(204);
    expect(server.points("d").map((p) => p.fields["f"]?.value)).toEqual([2]);
    expect((await late).status).toBe(204);
    expect(performance.now() - t).toBeGreaterThanOrEqual(290);
    expect(server.points("d").map((p) => p.fields["f"]?.value)).toEqual([2]);
    server.faults.perRequest(() => ({ kind: "answerLate", ms: -1 }));
    expect((await write(server, "m f=1 2")).status).toBe(500);
  });

  it("refuse() stops listening and accept() listens again on the same port", async () => {
    const server = await start();
    expect((await write(server)).status).toBe(204);
    await server.faults.refuse();
    await expect(write(server)).rejects.toThrow();
    await server.faults.accept();
    expect((await write(server, "m f=2 2")).status).toBe(204);
    expect(server.points("d")).toHaveLength(2);
  });

  it("refuse() also cuts kept-alive connections", async () => {
    const server = await start();
    expect(await rawPost(server, "/api/v3/write_lp?db=d", "m f=1 1", true)).toBe(204);
    await server.faults.refuse();
    await expect(rawPost(server, "/api/v3/write_lp?db=d", "m f=1 1", true)).rejects.toThrow();
    await server.faults.accept();
  });

  it("rejects bad counts", async () => {
    const server = await start();
    expect(() => server.faults.failNext(-1, { status: 500 })).toThrow(TestServerError);
    expect(() => server.faults.stall(1.5)).toThrow(TestServerError);
    expect(() => server.faults.delay(-1)).toThrow(TestServerError);
    expect(() => server.faults.cutNextResponse(1, { afterBytes: -1 })).toThrow(TestServerError);
  });
});

describe("writeDelayMs and close()", () => {
  it("stores and answers a write only after writeDelayMs, unless no_sync", async () => {
    const server = await start({ writeDelayMs: 200 });
    const t = performance.now();
    const pending = write(server);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.points("d")).toEqual([]);
    expect((await pending).status).toBe(204);
    expect(performance.now() - t).toBeGreaterThanOrEqual(190);
    const t2 = performance.now();
    expect((await call(server, "/api/v3/write_lp?db=d&no_sync=true", { body: "m f=1 2" })).status).toBe(204);
    expect(performance.now() - t2).toBeLessThan(190);
  });

  it("close() is idempotent and frees the port", async () => {
    const server = await start();
    await write(server);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await expect(write(server)).rejects.toThrow();
    await expect(server.faults.accept()).rejects.toMatchObject({ code: "CLOSED" });
  });
});

/** A POST over node:http with keep-alive or a body that never ends (no body given). */
function rawPost(
  server: InfluxDB3TestServer,
  path: string,
  body?: string,
  keepAlive = false,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      server.url + path,
      { method: "POST", headers: keepAlive ? { connection: "keep-alive" } : {} },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.end(body);
    else req.write("m f=1 1");
  });
}
