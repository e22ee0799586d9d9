import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "./server.js";

let server: InfluxDB3TestServer;
beforeAll(async () => {
  server = await startInfluxDB3Server();
  const lines = [
    'cpu,host=a,region=eu usage=1,count=9223372036854775807i,big=18446744073709551615u,ok=true,note="x" 1744984965331000000',
    "cpu,host=b usage=2.5,count=-9223372036854775808i 1744984964000000000",
    "cpu,host=a usage=3 1744984966000000001",
    "mem,host=a free=10i 1737392500690067000",
  ];
  const res = await fetch(`${server.url}/api/v3/write_lp?db=q&precision=nanosecond`, {
    method: "POST",
    body: lines.join("\n"),
  });
  expect(res.status).toBe(204);
});
afterAll(() => server.close());

async function get(params: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/api/v3/query_sql?${new URLSearchParams(params).toString()}`, {
    headers,
  });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}
async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/api/v3/query_sql`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

describe("SELECT from one table", () => {
  it("SELECT * lists columns alphabetically, leaves NULLs out and prints integers exactly", async () => {
    const res = await get({ db: "q", q: "SELECT * FROM cpu ORDER BY time", format: "json" });
    expect(res.status).toBe(200);
    expect(res.type).toBe("application/json");
    expect(res.body).toBe(
      "[" +
        '{"count":-9223372036854775808,"host":"b","time":"2025-04-18T14:02:44","usage":2.5},' +
        '{"big":18446744073709551615,"count":9223372036854775807,"host":"a","note":"x","ok":true,"region":"eu","time":"2025-04-18T14:02:45.331","usage":1.0},' +
        '{"host":"a","time":"2025-04-18T14:02:46.000000001","usage":3.0}' +
        "]",
    );
  });

  it("answers jsonl one row per line, in the listed column order", async () => {
    const res = await get({
      db: "q",
      q: "select usage, time, host from cpu order by time desc",
      format: "jsonl",
    });
    expect(res.type).toBe("application/jsonl");
    expect(res.body).toBe(
      '{"usage":3.0,"time":"2025-04-18T14:02:46.000000001","host":"a"}\n' +
        '{"usage":1.0,"time":"2025-04-18T14:02:45.331","host":"a"}\n' +
        '{"usage":2.5,"time":"2025-04-18T14:02:44","host":"b"}\n',
    );
  });

  it("filters a half-open time range given as RFC 3339 literals", async () => {
    const res = await get({
      db: "q",
      q: "SELECT time FROM cpu WHERE time >= '2025-04-18T14:02:44Z' AND time < '2025-04-18T14:02:46.000000001Z' ORDER BY time",
    });
    expect(res.body).toBe('[{"time":"2025-04-18T14:02:44"},{"time":"2025-04-18T14:02:45.331"}]');
  });

  it("takes $params on GET (a JSON string) and POST (a JSON body)", async () => {
    const q = 'SELECT "time" FROM "cpu" WHERE time > $start AND time <= $end ORDER BY time ASC;';
    const params = { start: "2025-04-18T14:02:44Z", end: "2025-04-18T14:02:46.000000001Z" };
    const expected = '[{"time":"2025-04-18T14:02:45.331"},{"time":"2025-04-18T14:02:46.000000001"}]';
    expect((await get({ db: "q", q, params: JSON.stringify(params) })).body).toBe(expected);
    expect((await post({ db: "q", q, params, format: "json" })).body).toBe(expected);
    expect(await post({ db: "q", q, params: { start: params.start } })).toMatchObject({
      status: 400,
      body: '{"error":"no value found for placeholder $end"}',
    });
  });

  it("takes TIMESTAMP literals and LIMIT after the order", async () => {
    const q =
      "SELECT time FROM cpu WHERE time >= TIMESTAMP '2025-04-18T14:02:44Z' ORDER BY time DESC LIMIT 2";
    expect((await get({ db: "q", q })).body).toBe(
      '[{"time":"2025-04-18T14:02:46.000000001"},{"time":"2025-04-18T14:02:45.331"}]',
    );
    expect((await get({ db: "q", q: "SELECT time FROM cpu LIMIT 0" })).body).toBe("[]");
  });

  it("answers [] for json and an empty body for jsonl when nothing matches", async () => {
    const q = "SELECT * FROM cpu WHERE time >= '2030-01-01T00:00:00Z'";
    expect(await get({ db: "q", q })).toMatchObject({ status: 200, body: "[]" });
    expect(await get({ db: "q", q, format: "jsonl" })).toMatchObject({ status: 200, body: "" });
  });

  it("reads iox.<table> and refuses unknown tables and columns", async () => {
    expect((await get({ db: "q", q: "SELECT free FROM iox.mem" })).body).toBe('[{"free":10}]');
    expect(await get({ db: "q", q: "SELECT * FROM disk" })).toMatchObject({
      status: 400,
      body: `{"error":"Error during planning: table 'public.iox.disk' not found"}`,
    });
    expect(await get({ db: "q", q: "SELECT nope FROM cpu" })).toMatchObject({
      status: 400,
      body: '{"error":"Schema error: No field named \\"nope\\""}',
    });
    expect(await get({ db: "missing", q: "SELECT * FROM cpu" })).toMatchObject({
      status: 404,
      body: '{"error":"database not found: missing"}',
    });
  });
});

describe("schema queries", () => {
  it("lists information_schema.columns of user tables with their data types", async () => {
    const res = await get({
      db: "q",
      q: "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'iox'",
    });
    expect(JSON.parse(res.body)).toEqual([
      { table_name: "cpu", column_name: "big", data_type: "UInt64" },
      { table_name: "cpu", column_name: "count", data_type: "Int64" },
      { table_name: "cpu", column_name: "host", data_type: "Dictionary(Int32, Utf8)" },
      { table_name: "cpu", column_name: "note", data_type: "Utf8" },
      { table_name: "cpu", column_name: "ok", data_type: "Boolean" },
      { table_name: "cpu", column_name: "region", data_type: "Dictionary(Int32, Utf8)" },
      { table_name: "cpu", column_name: "time", data_type: "Timestamp(ns)" },
      { table_name: "cpu", column_name: "usage", data_type: "Float64" },
      { table_name: "mem", column_name: "free", data_type: "Int64" },
      { table_name: "mem", column_name: "host", data_type: "Dictionary(Int32, Utf8)" },
      { table_name: "mem", column_name: "time", data_type: "Timestamp(ns)" },
    ]);
  });

  it("filters information_schema.columns by table_name, literal or $param", async () => {
    const q =
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'iox' AND table_name = $t ORDER BY column_name";
    const res = await post({ db: "q", q, params: { t: "mem" }, format: "jsonl" });
    expect(res.body).toBe(
      '{"column_name":"free","data_type":"Int64"}\n{"column_name":"host","data_type":"Dictionary(Int32, Utf8)"}\n{"column_name":"time","data_type":"Timestamp(ns)"}\n',
    );
    const literal = await get({
      db: "q",
      q: "SELECT column_name FROM information_schema.columns WHERE table_name = 'mem' AND table_schema = 'iox'",
    });
    expect(literal.body).toBe('[{"column_name":"free"},{"column_name":"host"},{"column_name":"time"}]');
  });

  it("SHOW TABLES lists user tables under iox and the system tables", async () => {
    const rows = JSON.parse((await get({ db: "q", q: "SHOW TABLES" })).body) as Record<string, string>[];
    expect(rows.slice(0, 3)).toEqual([
      { table_catalog: "public", table_schema: "iox", table_name: "cpu", table_type: "BASE TABLE" },
      { table_catalog: "public", table_schema: "iox", table_name: "mem", table_type: "BASE TABLE" },
      {
        table_catalog: "public",
        table_schema: "system",
        table_name: "distinct_caches",
        table_type: "BASE TABLE",
      },
    ]);
    expect(rows.filter((r) => r.table_schema === "iox").map((r) => r.table_name)).toEqual(["cpu", "mem"]);
    expect(rows.some((r) => r.table_schema === "system" && r.table_name === "processing_engine_logs")).toBe(
      true,
    );
    expect(rows.some((r) => r.table_schema === "information_schema" && r.table_type === "VIEW")).toBe(true);
  });
});

describe("request checks", () => {
  it.each(["application/jsonl", "application/x-ndjson"])(
    "answers 400 to Accept: %s even with format=jsonl",
    async (accept) => {
      const res = await get({ db: "q", q: "SHOW TABLES", format: "jsonl" }, { accept });
      expect(res).toMatchObject({
        status: 400,
        body: `{"error":"invalid mime type (${accept}): send no Accept, */* or application/json"}`,
      });
    },
  );

  it.each(["*/*", "application/json"])("accepts Accept: %s", async (accept) => {
    expect((await get({ db: "q", q: "SHOW TABLES", format: "jsonl" }, { accept })).status).toBe(200);
  });

  it("refuses missing parameters and formats it does not produce", async () => {
    expect(await get({ q: "SHOW TABLES" })).toMatchObject({
      status: 400,
      body: '{"error":"missing the \\"db\\" parameter"}',
    });
    expect(await get({ db: "q" })).toMatchObject({
      status: 400,
      body: '{"error":"missing the \\"q\\" parameter"}',
    });
    expect(await get({ db: "q", q: "SHOW TABLES", format: "csv" })).toMatchObject({
      status: 400,
      body: '{"error":"format csv is not supported by edr-testkit: use json or jsonl"}',
    });
    expect((await get({ db: "q", q: "SHOW TABLES", format: "xml" })).status).toBe(400);
    expect((await post("not an object")).status).toBe(400);
  });

  it.each([
    ["SELECT count(*) FROM cpu", "expected FROM, got ("],
    ["SELECT * FROM cpu WHERE host = 'a'", 'filters only on time, not on "host"'],
    ["SELECT * FROM cpu LIMIT 1.5", "expected a whole number after LIMIT, got 1.5"],
    ["SELECT * FROM cpu LIMIT 1 OFFSET 1", "unexpected offset at 26"],
    ["SELECT * FROM cpu ORDER BY host", 'orders only by time, not by "host"'],
    [
      "SELECT * FROM cpu WHERE time >= now() - interval '1 hour'",
      "expected an RFC 3339 string or a $param, got now",
    ],
    ["SELECT * FROM cpu WHERE time >= 'yesterday'", 'expected an RFC 3339 timestamp, got "yesterday"'],
    ["SELECT * FROM a, b", "unexpected ,"],
    ["SELECT * FROM information_schema.columns WHERE table_schema = 'iox'", "instead of *"],
    ["SELECT table_name FROM information_schema.columns", "add WHERE table_schema = 'iox'"],
    [
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'iox'",
      "not information_schema.tables",
    ],
    ["DELETE FROM cpu", "expected SELECT, got delete"],
  ])("refuses %s with a clear 400", async (q, fragment) => {
    const res = await get({ db: "q", q });
    expect(res.status).toBe(400);
    expect((JSON.parse(res.body) as { error: string }).error).toContain(fragment);
  });
});
