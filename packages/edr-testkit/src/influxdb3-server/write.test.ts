import { gzipSync } from "node:zlib";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "./server.js";

let server: InfluxDB3TestServer;
beforeEach(async () => {
  server ??= await startInfluxDB3Server();
  server.reset();
});
afterAll(() => server.close());

interface Entry {
  error_message: string;
  line_number: number;
  original_line: string;
}
function parsed(body: string): { error: string; data: Entry[] } {
  return JSON.parse(body) as { error: string; data: Entry[] };
}

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method: "POST", body, headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe("POST /api/v3/write_lp", () => {
  it("stores every type, escapes and tags, answering 204 with an empty body", async () => {
    const body = [
      'cpu\\,x\\ y,host=a\\ b,r\\=g=eu\\,w f=1.5,i=-9223372036854775808i,u=18446744073709551615u,s="q\\"b\\\\n",b=T 1700000000000000000',
      "cpu\\,x\\ y,host=a\\ b,r\\=g=eu\\,w i2=9223372036854775807i 1700000000000000001",
    ].join("\n");
    const res = await post("/api/v3/write_lp?db=d&precision=nanosecond", body);
    expect(res).toMatchObject({ status: 204, body: "" });
    expect(server.points("d")).toEqual([
      {
        measurement: "cpu,x y",
        tags: { host: "a b", "r=g": "eu,w" },
        fields: {
          f: { type: "float", value: 1.5 },
          i: { type: "integer", value: -9223372036854775808n },
          u: { type: "unsigned", value: 18446744073709551615n },
          s: { type: "string", value: 'q"b\\n' },
          b: { type: "boolean", value: true },
        },
        timeNs: 1700000000000000000n,
      },
      {
        measurement: "cpu,x y",
        tags: { host: "a b", "r=g": "eu,w" },
        fields: { i2: { type: "integer", value: 9223372036854775807n } },
        timeNs: 1700000000000000001n,
      },
    ]);
  });

  it("keeps a backslash before a character that needs no escape, and raw newlines in strings", async () => {
    await post("/api/v3/write_lp?db=d&precision=s", 'm\\x,t=a\\b s="line1\nline2",o="a\\tb" 1');
    expect(server.points("d")).toEqual([
      {
        measurement: "m\\x",
        tags: { t: "a\\b" },
        fields: { s: { type: "string", value: "line1\nline2" }, o: { type: "string", value: "a\\tb" } },
        timeNs: 1_000_000_000n,
      },
    ]);
  });

  it.each([
    ["nanosecond", "1", 1n],
    ["ns", "1", 1n],
    ["microsecond", "1", 1_000n],
    ["us", "1", 1_000n],
    ["millisecond", "1", 1_000_000n],
    ["ms", "1", 1_000_000n],
    ["second", "1", 1_000_000_000n],
    ["s", "1", 1_000_000_000n],
    // auto guesses from the magnitude, per line
    ["auto", "1708976567", 1708976567_000_000_000n],
    ["auto", "1708976567000", 1708976567_000_000_000n],
    ["auto", "1708976567000000", 1708976567_000_000_000n],
    ["auto", "1708976567000000000", 1708976567_000_000_000n],
  ])("reads precision=%s (%s)", async (precision, ts, expected) => {
    expect((await post(`/api/v3/write_lp?db=d&precision=${precision}`, `m f=1 ${ts}`)).status).toBe(204);
    expect(server.points("d")[0]?.timeNs).toBe(expected);
  });

  it("keeps a tag or a field named __proto__ like any other name, on the strict and fast paths", async () => {
    // Each second line has its table's shape already, so it goes through the shape cache's fast path.
    const body = ["t,__proto__=a v=1 1", "t,__proto__=b v=2 2", "f __proto__=1i 1", "f __proto__=2i 2"].join(
      "\n",
    );
    expect(await post("/api/v3/write_lp?db=d&precision=nanosecond", body)).toMatchObject({ status: 204 });
    expect(
      server.points("d").map((p) => [p.measurement, Object.entries(p.tags), Object.entries(p.fields)]),
    ).toEqual([
      ["t", [["__proto__", "a"]], [["v", { type: "float", value: 1 }]]],
      ["t", [["__proto__", "b"]], [["v", { type: "float", value: 2 }]]],
      ["f", [], [["__proto__", { type: "integer", value: 1n }]]],
      ["f", [], [["__proto__", { type: "integer", value: 2n }]]],
    ]);
    const res = await fetch(`${server.url}/api/v3/query_sql?db=d&q=${encodeURIComponent("SELECT * FROM t")}`);
    expect(await res.text()).toContain('"__proto__":"b"');
  });

  it("defaults to precision auto", async () => {
    await post("/api/v3/write_lp?db=d", "m f=1 1708976567");
    expect(server.points("d")[0]?.timeNs).toBe(1708976567_000_000_000n);
  });

  it("uses the server time when a line has no timestamp", async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    await post("/api/v3/write_lp?db=d", "m f=1");
    const t = server.points("d")[0]!.timeNs;
    expect(t >= before && t <= BigInt(Date.now()) * 1_000_000n).toBe(true);
  });

  it("refuses an unknown precision, a missing db and a bad accept_partial", async () => {
    expect(await post("/api/v3/write_lp?db=d&precision=n", "m f=1 1")).toMatchObject({
      status: 400,
      body: '{"error":"invalid precision \\"n\\": expected one of auto, nanosecond, microsecond, millisecond, second, ns, us, ms, s"}',
    });
    expect(await post("/api/v3/write_lp", "m f=1 1")).toMatchObject({
      status: 400,
      body: '{"error":"missing the \\"db\\" query parameter"}',
    });
    expect(await post("/api/v3/write_lp?db=d&accept_partial=yes", "m f=1 1")).toMatchObject({
      status: 400,
      body: '{"error":"invalid accept_partial \\"yes\\": expected true or false"}',
    });
  });

  it("stores the good lines of a partial write and numbers bad lines over non-blank, non-comment lines", async () => {
    const body = [
      "# comment",
      "m f=1 1",
      "",
      "   ",
      "m f=oops 2",
      "# another",
      "m,t=x f=3 3",
      "measurement_with_a_long_name f= 4",
    ].join("\n");
    const res = await post("/api/v3/write_lp?db=d&precision=s", body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: "partial write of line protocol occurred",
      data: [
        { error_message: 'invalid value for field "f": "oops"', line_number: 2, original_line: "m f=oops 2" },
        {
          error_message: 'missing value for field "f"',
          line_number: 4,
          original_line: "measurement_with_a_l",
        },
      ],
    });
    expect(
      res.body.startsWith('{"error":"partial write of line protocol occurred","data":[{"error_message":'),
    ).toBe(true);
    expect(server.points("d").map((p) => p.timeNs)).toEqual([1_000_000_000n, 3_000_000_000n]);
  });

  it("cuts original_line to 20 bytes without splitting a character", async () => {
    const res = await post("/api/v3/write_lp?db=d", "ééééééééééé f=x");
    expect(parsed(res.body).data[0]?.original_line).toBe("éééééééééé");
  });

  it("with accept_partial=false stores nothing and reports the first bad line", async () => {
    const res = await post(
      "/api/v3/write_lp?db=d&accept_partial=false&precision=s",
      "m f=1 1\nm f=x 2\nm f=y 3",
    );
    expect(res).toMatchObject({
      status: 400,
      body: '{"error":"line protocol parsing error","data":{"error_message":"invalid value for field \\"f\\": \\"x\\"","line_number":2,"original_line":"m f=x 2"}}',
    });
    expect(server.points("d")).toEqual([]);
  });

  it("refuses type conflicts against stored columns and within one batch", async () => {
    await post("/api/v3/write_lp?db=d&precision=s", 'm,t=a f=1,i=1i,u=1u,s="x",b=true 1');
    const res = await post(
      "/api/v3/write_lp?db=d&precision=s",
      [
        "m f=1i 2",
        "m i=1 3",
        "m u=1i 4",
        "m s=1 5",
        'm b="t" 6',
        "m t=1 7",
        "m,f=x g=1 8",
        "m n=1 9",
        'm n="x" 10',
      ].join("\n"),
    );
    expect(res.status).toBe(400);
    expect(parsed(res.body).data).toEqual([
      {
        error_message: 'invalid column type for column "f": expected float field, got integer field',
        line_number: 1,
        original_line: "m f=1i 2",
      },
      {
        error_message: 'invalid column type for column "i": expected integer field, got float field',
        line_number: 2,
        original_line: "m i=1 3",
      },
      {
        error_message: 'invalid column type for column "u": expected unsigned field, got integer field',
        line_number: 3,
        original_line: "m u=1i 4",
      },
      {
        error_message: 'invalid column type for column "s": expected string field, got float field',
        line_number: 4,
        original_line: "m s=1 5",
      },
      {
        error_message: 'invalid column type for column "b": expected boolean field, got string field',
        line_number: 5,
        original_line: 'm b="t" 6',
      },
      {
        error_message: 'invalid column type for column "t": expected tag, got float field',
        line_number: 6,
        original_line: "m t=1 7",
      },
      {
        error_message: 'invalid column type for column "f": expected float field, got tag',
        line_number: 7,
        original_line: "m,f=x g=1 8",
      },
      {
        error_message: 'invalid column type for column "n": expected float field, got string field',
        line_number: 9,
        original_line: 'm n="x" 10',
      },
    ]);
    expect(server.points("d").map((p) => p.timeNs)).toEqual([1_000_000_000n, 9_000_000_000n]);
  });

  it("refuses reserved names, repeated fields, empty tag values and other bad lines", async () => {
    const lines = [
      "m time=1 1",
      "m,time=a f=1 1",
      "m __chunk_order=1 1",
      "m f=1,f=2 1",
      "m,t= f=1 1",
      "m,t=a,t=b f=1 1",
      "m 1",
      "m f=1 1.5",
      "m f=1 1\r",
      "m f=NaN 1",
      "m f=1e400 1",
      "m i=9223372036854775808i 1",
      "m u=18446744073709551616u 1",
      "m u=-1u 1",
      "m f=1 9223372036854775808",
      // An open quote runs to the end of the body (line splitting honours quotes), as InfluxDB 3 does.
      'm s="open 1\nm f=1 1',
    ];
    const res = await post("/api/v3/write_lp?db=d&precision=ns", lines.join("\n"));
    expect(parsed(res.body).data.map((e) => e.error_message)).toEqual([
      'column name "time" is reserved and cannot be a tag or field',
      'column name "time" is reserved and cannot be a tag or field',
      'column name "__chunk_order" is reserved and cannot be a tag or field',
      'field "f" appears more than once in the line',
      'empty value of tag "t" at byte 4',
      'duplicate tag "t"',
      'expected "=" after field key "1"',
      'invalid timestamp: expected an integer, got "1.5"',
      'invalid timestamp: expected an integer, got "1\r"',
      'invalid value for field "f": "NaN"',
      'float field "f" value 1e400 is not finite',
      'integer field "i" value 9223372036854775808i is outside the signed 64-bit range',
      'unsigned field "u" value 18446744073709551616u is outside the unsigned 64-bit range',
      'invalid value for field "u": "-1u"',
      'timestamp "9223372036854775808" is outside the signed 64-bit range',
      'unterminated string in field "s"',
    ]);
    expect(server.points("d")).toEqual([]);
  });

  it("refuses a timestamp that overflows once converted to nanoseconds", async () => {
    const res = await post("/api/v3/write_lp?db=d&precision=second", "m f=1 9223372037");
    expect(parsed(res.body).data[0]?.error_message).toBe(
      "timestamp 9223372037 in s is outside the nanosecond range",
    );
  });

  it("merges a point written again at the same table, tags and time: newest value wins", async () => {
    await post("/api/v3/write_lp?db=d&precision=s", "m,a=1,b=2 f=1,g=1 5\nm,a=1 f=9 5");
    await post("/api/v3/write_lp?db=d&precision=s", "m,b=2,a=1 f=2,h=3 5");
    expect(server.points("d", "m")).toEqual([
      {
        measurement: "m",
        tags: { a: "1", b: "2" },
        fields: {
          f: { type: "float", value: 2 },
          g: { type: "float", value: 1 },
          h: { type: "float", value: 3 },
        },
        timeNs: 5_000_000_000n,
      },
      {
        measurement: "m",
        tags: { a: "1" },
        fields: { f: { type: "float", value: 9 } },
        timeNs: 5_000_000_000n,
      },
    ]);
  });

  it("answers 422 when a line would pass the 500-columns limit", async () => {
    const fields = Array.from({ length: 500 }, (_, i) => `f${i}=1`).join(",");
    const res = await post("/api/v3/write_lp?db=d&precision=s", `ok f0=1 1\nwide ${fields} 1`);
    expect(res.status).toBe(422);
    expect(parsed(res.body).data[0]).toMatchObject({
      line_number: 2,
      original_line: "wide f0=1,f1=1,f2=1,",
    });
    expect(server.points("d").length).toBe(1);
  });

  it("answers 422 when a line would pass the 2,000-tables limit", async () => {
    const lines = Array.from({ length: 2001 }, (_, i) => `t${i} f=1 1`);
    const res = await post("/api/v3/write_lp?db=d&precision=s", lines.join("\n"));
    expect(res.status).toBe(422);
    expect(parsed(res.body).data).toEqual([
      {
        error_message: 'adding table "t2000" would exceed the limit of 2000 tables',
        line_number: 2001,
        original_line: "t2000 f=1 1",
      },
    ]);
    expect(server.points("d")).toHaveLength(2000);
  });

  it("accepts no_sync=true", async () => {
    expect((await post("/api/v3/write_lp?db=d&no_sync=true", "m f=1 1")).status).toBe(204);
  });

  it("lists points per table in first-write order and nothing for an unknown database", async () => {
    await post("/api/v3/write_lp?db=d&precision=s", "b f=1 1\na f=1 2\nb f=1 3");
    expect(server.points("d").map((p) => p.measurement)).toEqual(["b", "a", "b"]);
    expect(server.points("d", "b").map((p) => p.timeNs)).toEqual([1_000_000_000n, 3_000_000_000n]);
    expect(server.points("nope")).toEqual([]);
  });
});

describe("POST /api/v2/write", () => {
  it("writes to the bucket with ns by default, ignoring org", async () => {
    expect((await post("/api/v2/write?bucket=b&org=x", "m f=1i 1")).status).toBe(204);
    expect(server.points("b")).toEqual([
      { measurement: "m", tags: {}, fields: { f: { type: "integer", value: 1n } }, timeNs: 1n },
    ]);
  });

  it.each([
    ["ns", 1n],
    ["us", 1_000n],
    ["ms", 1_000_000n],
    ["s", 1_000_000_000n],
  ])("reads precision=%s", async (precision, expected) => {
    await post(`/api/v2/write?bucket=b&precision=${precision}`, "m f=1 1");
    expect(server.points("b")[0]?.timeNs).toBe(expected);
  });

  it("rejects the whole batch on one bad line with a v2 error body", async () => {
    const res = await post("/api/v2/write?bucket=b", "m f=1 1\nm f=bad 2");
    expect(res).toMatchObject({
      status: 400,
      body: '{"code":"invalid","message":"line protocol parsing error: line 2: invalid value for field \\"f\\": \\"bad\\""}',
    });
    expect(server.points("b")).toEqual([]);
  });

  it("answers v2 errors for a missing bucket and a bad precision", async () => {
    expect(await post("/api/v2/write", "m f=1")).toMatchObject({
      status: 400,
      body: '{"code":"invalid","message":"missing the \\"bucket\\" query parameter"}',
    });
    expect(await post("/api/v2/write?bucket=b&precision=nanosecond", "m f=1")).toMatchObject({
      status: 400,
      body: '{"code":"invalid","message":"invalid precision \\"nanosecond\\": expected one of ns, us, ms, s"}',
    });
  });
});

describe("POST /write (v1)", () => {
  it.each([
    ["n", 1n],
    ["ns", 1n],
    ["u", 1_000n],
    ["ms", 1_000_000n],
    ["s", 1_000_000_000n],
  ])("reads precision=%s", async (precision, expected) => {
    expect((await post(`/write?db=v&precision=${precision}`, "m f=1 1")).status).toBe(204);
    expect(server.points("v")[0]?.timeNs).toBe(expected);
  });

  it("rejects the whole batch with the v3 error body", async () => {
    const res = await post("/write?db=v&rp=autogen", "m f=1 1\nm f=bad 2");
    expect(res).toMatchObject({
      status: 400,
      body: '{"error":"line protocol parsing error","data":{"error_message":"invalid value for field \\"f\\": \\"bad\\"","line_number":2,"original_line":"m f=bad 2"}}',
    });
    expect(server.points("v")).toEqual([]);
  });

  it("refuses precision=us, which v1 does not spell", async () => {
    expect((await post("/write?db=v&precision=us", "m f=1 1")).status).toBe(400);
  });
});

describe("request bodies", () => {
  it("accepts gzip, including concatenated members, and identity", async () => {
    const body = Buffer.concat([gzipSync("m f=1 1\n"), gzipSync("m f=2 2")]);
    expect(
      (await post("/api/v3/write_lp?db=g&precision=s", body, { "content-encoding": "gzip" })).status,
    ).toBe(204);
    expect(
      (await post("/api/v3/write_lp?db=g&precision=s", "m f=3 3", { "content-encoding": "identity" })).status,
    ).toBe(204);
    expect(server.points("g").map((p) => p.fields.f)).toEqual([
      { type: "float", value: 1 },
      { type: "float", value: 2 },
      { type: "float", value: 3 },
    ]);
    expect(server.requests[0]?.body).toBe("m f=1 1\nm f=2 2");
  });

  it("refuses a body that is not valid UTF-8, records it lossily, and drops a leading byte order mark", async () => {
    const bad = Buffer.concat([Buffer.from('m f=1 1\nm s="'), Buffer.from([0xc3, 0x28]), Buffer.from('" 2')]);
    for (const [path, body] of [
      ["/api/v3/write_lp?db=u&precision=s", '{"error":"the request body is not valid UTF-8"}'],
      [
        "/api/v2/write?bucket=u&precision=s",
        '{"code":"invalid","message":"the request body is not valid UTF-8"}',
      ],
    ] as const)
      expect(await post(path, bad)).toMatchObject({ status: 400, body });
    expect(server.points("u")).toEqual([]);
    expect(server.requests[0]?.body).toBe('m f=1 1\nm s="\ufffd(" 2');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("m,t=é f=1 1\n\ufeffm f=2 2")]);
    expect((await post("/api/v3/write_lp?db=u&precision=s", bom)).status).toBe(204);
    // The first byte order mark is dropped (as TextDecoder does), another one is part of a name.
    expect(server.points("u")).toEqual([
      {
        measurement: "m",
        tags: { t: "é" },
        fields: { f: { type: "float", value: 1 } },
        timeNs: 1_000_000_000n,
      },
      {
        measurement: "\ufeffm",
        tags: {},
        fields: { f: { type: "float", value: 2 } },
        timeNs: 2_000_000_000n,
      },
    ]);
    expect(server.requests[2]?.body).toBe("\ufeffm,t=é f=1 1\n\ufeffm f=2 2");
  });

  it("refuses other content encodings and broken gzip", async () => {
    expect(await post("/api/v3/write_lp?db=g", "m f=1", { "content-encoding": "br" })).toMatchObject({
      status: 415,
      body: '{"error":"unsupported content encoding \\"br\\": only gzip or identity"}',
    });
    const broken = await post("/api/v3/write_lp?db=g", "not gzip", { "content-encoding": "gzip" });
    expect(broken.status).toBe(400);
    expect(await post("/api/v2/write?bucket=g", "m f=1", { "content-encoding": "deflate" })).toMatchObject({
      status: 415,
      body: '{"code":"invalid","message":"unsupported content encoding \\"deflate\\": only gzip or identity"}',
    });
    expect(parsed(broken.body).error).toMatch(/^error decoding gzip body: /);
  });
});
