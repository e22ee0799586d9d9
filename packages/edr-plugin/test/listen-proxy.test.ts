// The write-through endpoint's HTTP plumbing against a local instance of our own making: the path prefix,
// which headers pass each way, streaming, and a local instance that does not answer.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../src/logger.js";
import { createListenServer, type ListenServer } from "../src/listen/listen-server.js";
import { FakeIntake } from "./listen-fake-intake.js";
import { post } from "./listen-helpers.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

let local: Server | undefined;
let listen: ListenServer | undefined;

afterEach(async () => {
  await listen?.close();
  await new Promise<void>((resolve) => (local ? local.close(() => resolve()) : resolve()));
  local?.closeAllConnections();
  listen = local = undefined;
});

/** A local instance that records each request and answers with `answer`. */
async function startLocal(
  answer: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  local = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      answer(req, body, res);
    });
  });
  await new Promise<void>((resolve) => local!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(local.address() as AddressInfo).port}`, seen };
}

describe("edr listen: HTTP plumbing", () => {
  it("keeps the local URL's path prefix and passes the client's headers, not hop-by-hop ones", async () => {
    const { url, seen } = await startLocal((_req, _body, res) => {
      res.writeHead(204, { "X-Influxdb-Version": "3.10.0", "Request-Id": "abc", "Keep-Alive": "timeout=5" });
      res.end();
    });
    const intake = new FakeIntake();
    listen = await createListenServer({
      localUrl: `${url}/influx/`,
      database: "edge",
      intake,
      port: 0,
      logger: silentLogger,
    });
    const res = await fetch(`${listen.url}/api/v3/write_lp?db=edge&precision=ns&no_sync=true`, {
      method: "POST",
      body: "cpu f=1 1",
      headers: {
        authorization: "Token secret",
        "x-custom": "yes",
        "proxy-authorization": "Basic x",
        te: "trailers",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("x-influxdb-version")).toBe("3.10.0");
    expect(res.headers.get("request-id")).toBe("abc");
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe("/influx/api/v3/write_lp?db=edge&precision=ns&no_sync=true");
    expect(seen[0]!.headers.authorization).toBe("Token secret");
    expect(seen[0]!.headers["x-custom"]).toBe("yes");
    expect(seen[0]!.headers["proxy-authorization"]).toBeUndefined();
    expect(seen[0]!.headers.te).toBeUndefined();
    expect(seen[0]!.headers.host).toBe(new URL(url).host);
    expect(intake.texts()).toEqual(["cpu f=1 1"]);
  });

  it("streams a large pass-through body both ways, unchanged", async () => {
    const { url, seen } = await startLocal((req, body, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "set-cookie": ["a=1", "b=2"] });
      // Answer in pieces, chunked, as a streaming query does.
      const digest = createHash("sha256").update(body).digest("hex");
      res.write(digest);
      res.write(body);
      res.end(req.method);
    });
    listen = await createListenServer({
      localUrl: url,
      database: "edge",
      intake: new FakeIntake(),
      port: 0,
      logger: silentLogger,
    });
    const payload = Buffer.alloc(20 * 1024 * 1024, "line protocol or not\n");
    const res = await fetch(`${listen.url}/api/v3/query_sql?db=edge`, { method: "POST", body: payload });
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(body.subarray(0, 64).toString()).toBe(createHash("sha256").update(payload).digest("hex"));
    expect(body.length).toBe(64 + payload.length + 4);
    expect(seen[0]!.url).toBe("/api/v3/query_sql?db=edge");
  });

  it("answers 502 when the local instance does not answer a write in time, and queues nothing", async () => {
    const { url } = await startLocal(() => {
      // Never answers.
    });
    const intake = new FakeIntake();
    listen = await createListenServer({
      localUrl: url,
      database: "edge",
      intake,
      port: 0,
      logger: silentLogger,
      localTimeoutMs: 200,
    });
    const answer = await post(listen.url, "/write?db=edge", "cpu f=1 1");
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toEqual({
      error:
        "edr listen: no answer from the local instance within 200 ms; the write may have reached the local instance but is not queued for the remote: retry it",
    });
    expect(intake.lines).toEqual([]);
  });

  it("checks its options, listing every problem", async () => {
    await expect(
      createListenServer({
        localUrl: "ftp://x",
        database: "",
        intake: new FakeIntake(),
        port: 70000,
        maxBodyBytes: 0,
      }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`
      [PluginError: [edr-plugin] edr listen: 4 problems:
        localUrl: expected an http: or https: URL, got "ftp:"
        database: expected the name of the replicated database, got nothing
        port: expected an integer from 0 to 65535, got 70000
        maxBodyBytes: expected a positive integer, got 0]
    `);
  });

  it("says so when it cannot listen", async () => {
    const { url } = await startLocal((_req, _body, res) => res.end());
    const port = Number(new URL(url).port);
    await expect(
      createListenServer({
        localUrl: url,
        database: "edge",
        intake: new FakeIntake(),
        port,
        logger: silentLogger,
      }),
    ).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});
