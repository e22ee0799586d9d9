// The write-through endpoint in front of edr-testkit's InfluxDB-3-compatible server, with a fake intake.
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import type { ReplicatorLogger } from "../src/logger.js";
import { createListenServer, type ListenServer } from "../src/listen/listen-server.js";
import type { ListenServerOptions } from "../src/listen/listen-options.js";
import { FakeIntake } from "./listen-fake-intake.js";
import { errorOf, get, lineNumbersOf, linesToPoints, post } from "./listen-helpers.js";

const TOKEN = "local-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const NOW_MS = 1_700_000_000_123;

let local: InfluxDB3TestServer;
let intake: FakeIntake;
let listen: ListenServer;
let logged: string[];

async function start(options: Partial<ListenServerOptions> = {}): Promise<ListenServer> {
  const logger: ReplicatorLogger = {
    debug: (m) => logged.push(`DEBUG ${m}`),
    info: (m) => logged.push(`INFO ${m}`),
    warn: (m) => logged.push(`WARN ${m}`),
    error: (m) => logged.push(`ERROR ${m}`),
  };
  return createListenServer({
    localUrl: local.url,
    database: "edge",
    intake,
    port: 0,
    now: () => NOW_MS,
    logger,
    ...options,
  });
}

beforeEach(async () => {
  local = await startInfluxDB3Server({ token: TOKEN });
  intake = new FakeIntake();
  logged = [];
  listen = await start();
});

afterEach(async () => {
  await listen.close();
  await local.close();
});

/** The writes the local instance received. */
function localWrites() {
  return local.requests.filter((r) => r.method === "POST" && r.path !== "/api/v3/query_sql");
}

describe("edr listen: writes to the replicated database", () => {
  const cases = [
    ["/api/v3/write_lp?db=edge", "1700000000000000001", "1700000000000000001"],
    ["/api/v3/write_lp?db=edge&precision=auto", "1700000000", "1700000000000000000"],
    ["/api/v3/write_lp?db=edge&precision=auto", "1700000000001", "1700000000001000000"],
    ["/api/v3/write_lp?db=edge&precision=auto", "1700000000000002", "1700000000000002000"],
    ["/api/v3/write_lp?db=edge&precision=auto", "1700000000000000003", "1700000000000000003"],
    ["/api/v3/write_lp?db=edge&precision=nanosecond", "1700000000000000004", "1700000000000000004"],
    ["/api/v3/write_lp?db=edge&precision=microsecond", "1700000000000005", "1700000000000005000"],
    ["/api/v3/write_lp?db=edge&precision=millisecond", "1700000000006", "1700000000006000000"],
    ["/api/v3/write_lp?db=edge&precision=second", "1700000007", "1700000007000000000"],
    ["/api/v3/write_lp?db=edge&precision=ns", "1700000000000000008", "1700000000000000008"],
    ["/api/v3/write_lp?db=edge&precision=us", "1700000000000009", "1700000000000009000"],
    ["/api/v3/write_lp?db=edge&precision=ms&no_sync=true", "1700000000010", "1700000000010000000"],
    ["/api/v3/write_lp?db=edge&precision=s&accept_partial=false", "1700000011", "1700000011000000000"],
    ["/api/v2/write?bucket=edge&org=any", "1700000000000000012", "1700000000000000012"],
    ["/api/v2/write?bucket=edge&precision=ns", "1700000000000000013", "1700000000000000013"],
    ["/api/v2/write?bucket=edge&precision=us", "1700000000000014", "1700000000000014000"],
    ["/api/v2/write?bucket=edge&precision=ms", "1700000000015", "1700000000015000000"],
    ["/api/v2/write?bucket=edge&precision=s", "1700000016", "1700000016000000000"],
    ["/write?db=edge", "1700000000000000017", "1700000000000000017"],
    ["/write?db=edge&precision=n", "1700000000000000018", "1700000000000000018"],
    ["/write?db=edge&precision=ns&rp=autogen", "1700000000000000019", "1700000000000000019"],
    ["/write?db=edge&precision=u", "1700000000000020", "1700000000000020000"],
    ["/write?db=edge&precision=ms", "1700000000021", "1700000000021000000"],
    ["/write?db=edge&precision=s", "1700000022", "1700000022000000000"],
  ] as const;

  it.each(cases)("%s: stores %s locally and queues it in ns (%s)", async (path, timestamp, ns) => {
    const line = `cpu,host=a\\ b,region=eu usage=0.5,n=3i,s="x y",up=t ${timestamp}`;
    const answer = await post(listen.url, path, line, AUTH);
    expect(answer.status).toBe(204);
    expect(answer.body).toBe("");
    expect(intake.lines).toEqual([{ table: "cpu", line: line.replace(/ \d+$/, ` ${ns}`) }]);
    const [stored] = local.points("edge", "cpu");
    expect(stored?.timeNs).toBe(BigInt(ns));
    expect(linesToPoints(intake.texts())).toEqual(local.points("edge"));
  });

  it("passes the client's own credentials: the v1 p parameter and every Authorization scheme", async () => {
    expect((await post(listen.url, `/write?db=edge&u=me&p=${TOKEN}`, "m f=1 1")).status).toBe(204);
    expect(
      (await post(listen.url, "/write?db=edge", "m f=2 2", { authorization: `Token ${TOKEN}` })).status,
    ).toBe(204);
    const basic = `Basic ${Buffer.from(`me:${TOKEN}`).toString("base64")}`;
    expect(
      (await post(listen.url, "/api/v3/write_lp?db=edge", "m f=3 3", { authorization: basic })).status,
    ).toBe(204);
    expect(intake.texts()).toEqual(["m f=1 1", "m f=2 2", "m f=3 3000000000"]);
  });

  it("keeps every escape and the field order of each line, byte for byte", async () => {
    const lines = [
      'we\\,ird\\ m,t\\=k=v\\,1\\ 2,z=1 f\\ 1="q\\"uo\\\\te",a=-1.5e-7,b=18446744073709551615u,c=-9223372036854775808i 1700000000',
      'unicode,tag=漢字 msg="é😀\nnew line",z=FALSE,a=1 1700000001',
    ];
    const answer = await post(listen.url, "/api/v3/write_lp?db=edge&precision=s", lines.join("\n"), AUTH);
    expect(answer.status).toBe(204);
    expect(intake.lines).toEqual([
      { table: "we,ird m", line: lines[0]!.replace(/1700000000$/, "1700000000000000000") },
      { table: "unicode", line: lines[1]!.replace(/1700000001$/, "1700000001000000000") },
    ]);
    expect(linesToPoints(intake.texts())).toEqual(local.points("edge"));
  });

  it("takes gzip bodies (concatenated members) and forwards the client's bytes when no line needs a stamp", async () => {
    const body = Buffer.concat([gzipSync("cpu f=1 1\n"), gzipSync("cpu f=2 2\nmem f=3 3")]);
    const answer = await post(listen.url, "/api/v3/write_lp?db=edge&precision=ns", body, {
      ...AUTH,
      "content-encoding": "gzip",
    });
    expect(answer.status).toBe(204);
    expect(intake.texts()).toEqual(["cpu f=1 1", "cpu f=2 2", "mem f=3 3"]);
    const [write] = localWrites();
    expect(write?.headers["content-encoding"]).toBe("gzip");
    expect(Number(write?.headers["content-length"])).toBe(body.length);
  });

  it("stamps lines without a timestamp before forwarding, so the local and the queued copy carry one time", async () => {
    const cases = [
      ["/api/v3/write_lp?db=edge", `${NOW_MS}000000`],
      ["/api/v3/write_lp?db=edge&precision=second", `${Math.floor(NOW_MS / 1000)}000000000`],
      ["/api/v2/write?bucket=edge&precision=us", `${NOW_MS}000000`],
      ["/write?db=edge&precision=ms", `${NOW_MS}000000`],
      ["/write?db=edge", `${NOW_MS}000000`],
    ] as const;
    for (const [i, [path, ns]] of cases.entries()) {
      intake.lines.length = 0;
      const body = gzipSync(`# stamped\nt${i},host=a f=1\n\nt${i},host=b f=2 \n`);
      const answer = await post(listen.url, path, body, { ...AUTH, "content-encoding": "gzip" });
      expect(answer.status, path).toBe(204);
      expect(intake.texts()).toEqual([`t${i},host=a f=1 ${ns}`, `t${i},host=b f=2 ${ns}`]);
      expect(local.points("edge", `t${i}`).map((p) => p.timeNs)).toEqual([BigInt(ns), BigInt(ns)]);
    }
    // Stamped bodies go as plain text.
    expect(localWrites().every((w) => w.headers["content-encoding"] === undefined)).toBe(true);
  });

  it("queues only the lines a v3 partial write stored; the client gets the local's 400 body unchanged", async () => {
    const body = [
      "# comment lines and blank lines are not numbered",
      "cpu,host=a usage=1 1",
      "",
      'cpu,host=a msg="two',
      'lines" 2',
      'cpu,host=a usage="text" 3',
      "   ",
      "cpu,host=b usage=2",
      "cpu,host=c usage= 5",
      "mem,host=a used=1i 6",
    ].join("\n");
    // The same write straight to a second server, for the answer InfluxDB 3 gives.
    const direct = await startInfluxDB3Server();
    try {
      const stamped = body.replace("usage=2\n", `usage=2 ${NOW_MS}000000\n`);
      const expected = await post(direct.url, "/api/v3/write_lp?db=edge", stamped);
      const answer = await post(listen.url, "/api/v3/write_lp?db=edge", body, AUTH);
      expect(answer.status).toBe(400);
      expect(answer.body).toBe(expected.body);
      expect(answer.headers.get("content-type")).toBe("application/json");
      expect(lineNumbersOf(answer.body)).toEqual([3, 5]);
    } finally {
      await direct.close();
    }
    expect(intake.texts()).toEqual([
      "cpu,host=a usage=1 1000000000",
      'cpu,host=a msg="two\nlines" 2000000000',
      `cpu,host=b usage=2 ${NOW_MS}000000`,
      "mem,host=a used=1i 6000000000",
    ]);
    expect(linesToPoints(intake.texts())).toEqual(local.points("edge"));
  });

  it("maps a partial write to the lines sent, also a short bad line whose reported start holds edr's stamp", async () => {
    const answer = await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1\ncpu f=\ncpu f=2", AUTH);
    expect(answer.status).toBe(400);
    expect(lineNumbersOf(answer.body)).toEqual([2]);
    expect(intake.texts()).toEqual(["cpu f=1 1000000000", `cpu f=2 ${NOW_MS}000000`]);
    // Read from the answer alone: nothing was sent again.
    expect(localWrites()).toHaveLength(1);
  });

  it("queues the good lines of a 422 partial write (a line over the column limit)", async () => {
    const wide = `wide ${Array.from({ length: 600 }, (_, i) => `f${i}=1`).join(",")} 2`;
    const answer = await post(
      listen.url,
      "/api/v3/write_lp?db=edge&precision=ns",
      `cpu f=1 1\n${wide}\ncpu f=3 3`,
      AUTH,
    );
    expect(answer.status).toBe(422);
    expect(lineNumbersOf(answer.body)).toEqual([2]);
    expect(intake.texts()).toEqual(["cpu f=1 1", "cpu f=3 3"]);
    expect(linesToPoints(intake.texts())).toEqual(local.points("edge"));
  });

  it("queues nothing when the local rejects the whole batch (v3 accept_partial=false, v2, v1)", async () => {
    const body = 'cpu f=1 1\ncpu f="x" 2';
    for (const path of [
      "/api/v3/write_lp?db=edge&accept_partial=false",
      "/api/v2/write?bucket=edge",
      "/write?db=edge",
    ]) {
      const answer = await post(listen.url, path, body, AUTH);
      expect(answer.status, path).toBe(400);
    }
    expect(intake.lines).toEqual([]);
    expect(local.points("edge")).toEqual([]);
  });

  it("passes a local 401 back unchanged and queues nothing", async () => {
    const answer = await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1", {
      authorization: "Bearer wrong",
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toBe('{"error":"the request was not authenticated"}');
    const none = await post(listen.url, "/write?db=edge", "cpu f=1 1");
    expect(none.status).toBe(401);
    expect(intake.lines).toEqual([]);
    expect(logged.join("\n")).not.toContain(TOKEN);
  });

  it("refuses a precision it cannot read, with the endpoint's error body, and writes nothing", async () => {
    const v1 = await post(listen.url, "/write?db=edge&precision=us", "cpu f=1 1", AUTH);
    expect(v1.status).toBe(400);
    expect(JSON.parse(v1.body)).toEqual({
      error: 'invalid precision "us": expected one of n, ns, u, ms, s, m, h',
    });
    const v2 = await post(listen.url, "/api/v2/write?bucket=edge&precision=second", "cpu f=1 1", AUTH);
    expect(JSON.parse(v2.body)).toMatchObject({ code: "invalid" });
    expect(localWrites()).toEqual([]);
  });
});

describe("edr listen: bodies it refuses itself", () => {
  it("answers 413 as InfluxDB 3 for a body over maxBodyBytes on the wire or once gunzipped", async () => {
    await listen.close();
    listen = await start({ maxBodyBytes: 1000 });
    const big = `cpu f=1 1\n`.repeat(101);
    const wire = await post(listen.url, "/api/v3/write_lp?db=edge", big, AUTH);
    expect(wire.status).toBe(413);
    expect(wire.body).toBe("max request size (1000 bytes) exceeded");
    const zipped = await post(listen.url, "/write?db=edge", gzipSync(big), {
      ...AUTH,
      "content-encoding": "gzip",
    });
    expect(zipped.status).toBe(413);
    const v2 = await post(listen.url, "/api/v2/write?bucket=edge", big, AUTH);
    expect(JSON.parse(v2.body)).toEqual({
      code: "request too large",
      message: "max request size (1000 bytes) exceeded",
    });
    // Exactly at the limit is fine.
    const exact = await post(
      listen.url,
      "/api/v3/write_lp?db=edge",
      `${"cpu f=1 1\n".repeat(99)}cpu f=12 1`,
      AUTH,
    );
    expect(exact.status).toBe(204);
    expect(localWrites()).toHaveLength(1);
  });

  it("answers 400 for broken gzip, 415 for another encoding, 400 for invalid UTF-8", async () => {
    const broken = await post(listen.url, "/api/v3/write_lp?db=edge", Buffer.from("nope"), {
      ...AUTH,
      "content-encoding": "gzip",
    });
    expect(broken.status).toBe(400);
    expect(errorOf(broken.body)).toMatch(/^error decoding gzip body: /);
    const br = await post(listen.url, "/write?db=edge", "cpu f=1 1", { ...AUTH, "content-encoding": "br" });
    expect(br.status).toBe(415);
    expect(JSON.parse(br.body)).toEqual({
      error: 'unsupported content encoding "br": only gzip or identity',
    });
    const bad = await post(listen.url, "/write?db=edge", Buffer.from([0x6d, 0x20, 0x66, 0x3d, 0xff]), AUTH);
    expect(bad.status).toBe(400);
    expect(localWrites()).toEqual([]);
  });
});

describe("edr listen: everything else passes through", () => {
  it("passes queries, health, ping, other databases and unknown paths to the local instance untouched", async () => {
    expect((await post(listen.url, "/api/v3/write_lp?db=other", "cpu f=1 1", AUTH)).status).toBe(204);
    expect((await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=2 2", AUTH)).status).toBe(204);
    expect(local.points("other")).toHaveLength(1);
    // precision auto reads 2 as seconds.
    expect(intake.texts()).toEqual(["cpu f=2 2000000000"]);

    const sql = await get(
      listen.url,
      `/api/v3/query_sql?db=other&q=${encodeURIComponent("SELECT * FROM cpu")}`,
      AUTH,
    );
    expect(sql.status).toBe(200);
    expect(JSON.parse(sql.body)).toEqual([{ f: 1, time: "1970-01-01T00:00:01" }]);
    const viaPost = await post(
      listen.url,
      "/api/v3/query_sql",
      JSON.stringify({ db: "edge", q: "SELECT * FROM cpu", format: "jsonl" }),
      { ...AUTH, "content-type": "application/json" },
    );
    expect(viaPost.body).toBe('{"f":2.0,"time":"1970-01-01T00:00:02"}\n');
    expect((await get(listen.url, "/health", AUTH)).body).toBe("OK");
    expect((await get(listen.url, "/health")).status).toBe(401);
    expect(JSON.parse((await get(listen.url, "/ping", AUTH)).body)).toMatchObject({ version: "3.10.0" });
    const missing = await get(listen.url, "/nowhere?x=1", AUTH);
    expect(missing.status).toBe(404);
    expect(missing.body).toBe('{"error":"not found: GET /nowhere"}');
    const wrongMethod = await get(listen.url, "/api/v3/write_lp?db=edge", AUTH);
    expect(wrongMethod.status).toBe(405);
    expect(intake.lines).toHaveLength(1);
    const seen = local.requests.find((r) => r.path === "/nowhere");
    expect(seen?.query).toEqual({ x: "1" });
    expect(seen?.headers.authorization).toBe(AUTH.authorization);
  });

  it("serves the given routes before anything else", async () => {
    await listen.close();
    listen = await start({
      routes: new Map([
        [
          "/status",
          async (_req, res) => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end('{"ok":true}');
          },
        ],
        ["/broken", async () => Promise.reject(new Error("route failed"))],
      ]),
    });
    const status = await get(listen.url, "/status?verbose=1");
    expect(status.status).toBe(200);
    expect(status.body).toBe('{"ok":true}');
    const broken = await get(listen.url, "/broken");
    expect(broken.status).toBe(500);
    expect(JSON.parse(broken.body)).toEqual({ error: "edr listen: route failed" });
    expect(local.requests).toEqual([]);
  });
});

describe("edr listen: back-pressure and failures", () => {
  it("answers 503 with Retry-After when the intake refuses, without writing locally", async () => {
    intake.refuseWith = { retryAfterSeconds: 7, reason: "the queue is full (max_size 1024 MB reached)" };
    for (const path of ["/api/v3/write_lp?db=edge", "/write?db=edge", "/api/v2/write?bucket=edge"]) {
      const answer = await post(listen.url, path, "cpu f=1 1", AUTH);
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("7");
      expect(answer.body).toContain("the queue is full (max_size 1024 MB reached)");
    }
    const v2 = await post(listen.url, "/api/v2/write?bucket=edge", "cpu f=1 1", AUTH);
    expect(JSON.parse(v2.body)).toMatchObject({ code: "unavailable" });
    expect(JSON.parse((await post(listen.url, "/write?db=edge", "x", AUTH)).body)).toEqual({
      error:
        "edr listen: not accepting writes for now: the queue is full (max_size 1024 MB reached); retry after 7 s",
    });
    expect(localWrites()).toEqual([]);
    // Other databases are not held back.
    expect((await post(listen.url, "/write?db=other", "cpu f=1 1", AUTH)).status).toBe(204);
  });

  it("answers 503 when accept fails after the local stored the write, and logs it", async () => {
    intake.failWith = new Error("ENOSPC: no space left on device");
    const answer = await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1\ncpu f=2 2", AUTH);
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("1");
    expect(errorOf(answer.body)).toMatchInlineSnapshot(
      `"edr listen: the write reached the local instance but is not yet queued for the remote (ENOSPC: no space left on device): retry it (writing identical points again is harmless)"`,
    );
    expect(local.points("edge")).toHaveLength(2);
    expect(
      logged.some(
        (l) => l.startsWith("ERROR") && l.includes("2 lines stored by the local instance are not queued"),
      ),
    ).toBe(true);
    // The retry the client makes is stored again (the same points) and queued.
    intake.failWith = undefined;
    expect((await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1\ncpu f=2 2", AUTH)).status).toBe(
      204,
    );
    expect(intake.texts()).toEqual(["cpu f=1 1000000000", "cpu f=2 2000000000"]);
    expect(local.points("edge")).toHaveLength(2);
  });

  it("answers 503 with a clear error when the local instance cannot be reached, and logs it once", async () => {
    await local.faults.refuse();
    for (let i = 0; i < 3; i++) {
      const answer = await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1", AUTH);
      expect(answer.status).toBe(503);
      expect(errorOf(answer.body)).toMatch(
        /^edr listen: cannot reach the local instance at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*; nothing was written$/,
      );
    }
    const query = await get(listen.url, "/api/v3/query_sql?db=edge&q=x", AUTH);
    expect(query.status).toBe(503);
    expect(intake.lines).toEqual([]);
    expect(logged.filter((l) => l.startsWith("WARN"))).toHaveLength(1);
    await local.faults.accept();
    expect((await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1", AUTH)).status).toBe(204);
    expect(logged.some((l) => l.includes("answers again"))).toBe(true);
  });

  it("answers 502 when the local instance's answer is lost (it may have stored the write), queues nothing", async () => {
    local.faults.cutNextResponse(1);
    const answer = await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1", AUTH);
    expect(answer.status).toBe(502);
    expect(errorOf(answer.body)).toContain("retry it");
    expect(intake.lines).toEqual([]);
  });

  it("passes the local's own errors (e.g. 500 when its buffer is full) back, queuing nothing", async () => {
    local.faults.failNext(1, { status: 500, body: '{"error":"write buffer full"}' });
    const answer = await post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1", AUTH);
    expect(answer.status).toBe(500);
    expect(answer.body).toBe('{"error":"write buffer full"}');
    expect(intake.lines).toEqual([]);
  });
});

describe("edr listen: concurrency and close", () => {
  it("serves concurrent clients, queuing every line once", async () => {
    const clients = 8;
    const writesPerClient = 10;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let w = 0; w < writesPerClient; w++) {
          const lines = Array.from(
            { length: 50 },
            (_, l) => `cpu,client=${c} v=${w * 50 + l}i ${w * 50 + l + 1}`,
          );
          const body = w % 2 === 0 ? lines.join("\n") : gzipSync(lines.join("\n"));
          const headers = w % 2 === 0 ? AUTH : { ...AUTH, "content-encoding": "gzip" };
          const answer = await post(listen.url, "/api/v3/write_lp?db=edge&precision=ns", body, headers);
          expect(answer.status).toBe(204);
        }
      }),
    );
    expect(intake.lines).toHaveLength(clients * writesPerClient * 50);
    expect(intake.batches).toBe(clients * writesPerClient);
    expect(new Set(intake.texts()).size).toBe(clients * writesPerClient * 50);
    expect(local.points("edge")).toHaveLength(clients * writesPerClient * 50);
  });

  it("lets writes in flight finish on close(), then refuses new connections; close() twice is fine", async () => {
    local.faults.delay(300);
    intake.acceptDelayMs = 100;
    const inFlight = post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=1 1\ncpu f=2 2", AUTH);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = listen.close();
    const again = listen.close();
    expect(again).toBe(closed);
    const answer = await inFlight;
    expect(answer.status).toBe(204);
    await closed;
    expect(intake.texts()).toEqual(["cpu f=1 1000000000", "cpu f=2 2000000000"]);
    await expect(post(listen.url, "/api/v3/write_lp?db=edge", "cpu f=3 3", AUTH)).rejects.toThrow();
  });
});
