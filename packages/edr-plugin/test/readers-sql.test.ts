// The SQL reader against edr-testkit's InfluxDB-3-compatible server (and, for answers no server sends on
// purpose, a bare HTTP server that writes them byte by byte).
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { createRowConverter, type Row } from "edr-transform";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PluginError } from "../src/errors.js";
import { ExactNumber } from "../src/readers/json-scanner.js";
import type { LocalReader } from "../src/readers/local-reader.js";
import { createSqlReader } from "../src/readers/sql-reader.js";
import { sendPieces, startFakeServer } from "./readers-fake-server.js";

const TOKEN = "sql-reader-secret-token-4711";
const DB = "edge";
const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

const HOSTILE_TABLES = [
  'a"b',
  "x'; DROP TABLE y; --",
  "Mixed Case",
  "dots.in.name",
  "ünï 漢字",
  "back\\slash",
];

/** A table name as line protocol writes it (comma and space escaped). */
const lpName = (name: string): string => name.replace(/[, ]/g, (c) => `\\${c}`);

async function readAll(
  reader: LocalReader,
  table: string,
  startNs: bigint,
  endNs: bigint,
  chunkRows?: number,
) {
  const chunks: Row[][] = [];
  for await (const chunk of reader.readRows(
    table,
    startNs,
    endNs,
    chunkRows === undefined ? {} : { chunkRows },
  )) {
    chunks.push(chunk);
  }
  return chunks;
}

/** The first chunk of `rows` (or nothing), without reading further. */
async function firstChunk(rows: AsyncIterable<Row[]>): Promise<Row[] | undefined> {
  for await (const chunk of rows) return chunk;
  return undefined;
}

async function rejection(work: () => Promise<unknown>): Promise<PluginError> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(PluginError);
    expect((error as PluginError).message).not.toContain(TOKEN);
    return error as PluginError;
  }
  throw new Error("expected a rejection");
}

describe("createSqlReader (edr-testkit InfluxDB 3 server)", () => {
  let server: InfluxDB3TestServer;
  let reader: LocalReader;

  beforeAll(async () => {
    server = await startInfluxDB3Server({ token: TOKEN });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    reader = createSqlReader({ url: server.url, database: DB, token: TOKEN });
  });

  async function write(lines: readonly string[]): Promise<void> {
    const response = await fetch(`${server.url}/api/v3/write_lp?db=${DB}&precision=nanosecond`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: lines.join("\n"),
    });
    expect(response.status, await response.text()).toBe(204);
  }

  const queries = () =>
    server.requests
      .filter((r) => r.path === "/api/v3/query_sql")
      .map((r) => JSON.parse(r.body) as { q: string; params?: Record<string, string> });

  it("lists the user tables, sorted, without system tables", async () => {
    await write(["zeta v=1 1", "alpha v=1 1", ...HOSTILE_TABLES.map((t) => `${lpName(t)} v=1 1`)]);
    expect(await reader.listTables()).toEqual([...HOSTILE_TABLES, "alpha", "zeta"].sort());
  });

  it("sends the token as Bearer with Accept */* and a JSON-lines query", async () => {
    await write(["cpu v=1 1"]);
    await reader.listTables();
    const request = server.requests.at(-1)!;
    expect(request.method).toBe("POST");
    expect(request.headers["authorization"]).toBe(`Bearer ${TOKEN}`);
    expect(request.headers["accept"]).toBe("*/*");
    expect(JSON.parse(request.body)).toMatchObject({ db: DB, format: "jsonl" });
  });

  it("reads columns with their types, fresh on every call, none for a missing table", async () => {
    await write(['cpu,host=a usage=0.5,count=3i,big=7u,note="x",ok=true 1']);
    const types = async () =>
      Object.fromEntries((await reader.readColumns("cpu")).map((c) => [c.column_name, c.data_type]));
    expect(await types()).toEqual({
      big: "UInt64",
      count: "Int64",
      host: "Dictionary(Int32, Utf8)",
      note: "Utf8",
      ok: "Boolean",
      time: "Timestamp(ns)",
      usage: "Float64",
    });
    await write(["cpu,host=a,region=eu added=1i 2"]);
    expect(await types()).toMatchObject({ added: "Int64", region: "Dictionary(Int32, Utf8)" });
    expect(await reader.readColumns("nope")).toEqual([]);
  });

  it.each(HOSTILE_TABLES)("reads the table named %j and nothing else", async (table) => {
    await write([`${lpName(table)},t=1 v=1i ${T0}`, `y v=2i ${T0}`, `other v=3i ${T0}`]);
    const columns = await reader.readColumns(table);
    expect(columns.map((c) => c.column_name).sort()).toEqual(["t", "time", "v"]);
    expect(columns.every((c) => c.table_name === table)).toBe(true);
    expect(await readAll(reader, table, T0, T0 + 1n)).toEqual([
      [{ t: "1", time: "2026-01-01T00:00:00", v: new ExactNumber("1") }],
    ]);
    // The name travels as a quoted identifier in SELECT and as a parameter in the schema query.
    const [schema, select] = queries().slice(-2);
    expect(schema!.params).toEqual({ table });
    expect(select!.q).toContain(`FROM "${table.replaceAll('"', '""')}" WHERE`);
    expect(server.points(DB, "y")).toHaveLength(1);
  });

  it("keeps int64/uint64 bounds, whole floats and strings exact, through edr-transform's converter", async () => {
    await write([
      `v,h=a i=9223372036854775807i,n=-9223372036854775808i,u=18446744073709551615u,f=21.0,g=-0.0 ${T0}`,
      `v,h=a s="quote \\" backslash \\\\ newline \n tab \t ünï 😀",b=false,f=1.7976931348623157e308 ${T0 + 1n}`,
      `v,h=b i=0i ${T0 + 2n}`,
    ]);
    const columns = await reader.readColumns("v");
    const [rows] = await readAll(reader, "v", T0, T0 + 3n);
    expect(rows).toEqual([
      {
        f: new ExactNumber("21.0"),
        g: new ExactNumber("-0.0"),
        h: "a",
        i: new ExactNumber("9223372036854775807"),
        n: new ExactNumber("-9223372036854775808"),
        time: "2026-01-01T00:00:00",
        u: new ExactNumber("18446744073709551615"),
      },
      {
        b: false,
        f: new ExactNumber("1.7976931348623157e+308"),
        h: "a",
        s: 'quote " backslash \\ newline \n tab \t ünï 😀',
        time: "2026-01-01T00:00:00.000000001",
      },
      // NULL columns are left out of the row.
      { h: "b", i: new ExactNumber("0"), time: "2026-01-01T00:00:00.000000002" },
    ]);
    const lines = createRowConverter("v", columns).toLines(rows!);
    expect(lines.rejected).toEqual([]);
    expect(lines.items).toEqual([
      `v,h=a f=21.0,g=-0.0,i=9223372036854775807i,n=-9223372036854775808i,u=18446744073709551615u ${T0}`,
      `v,h=a b=false,f=1.7976931348623157e+308,s="quote \\" backslash \\\\ newline \n tab \t ünï 😀" ${T0 + 1n}`,
      `v,h=b i=0i ${T0 + 2n}`,
    ]);
  });

  it("reads exactly [start, end) to the nanosecond, before 1970 and far in the future", async () => {
    const MAX = 2n ** 63n - 1n;
    for (const start of [T0, -1_000_000_000_000_000_000n, MAX - 10n]) {
      server.reset();
      const end = start + 5n;
      const times = [start - 1n, start, start + 1n, end - 1n, end].filter((t) => t <= MAX);
      await write(times.map((t) => `b v=${t}i ${t}`));
      const chunks = await readAll(reader, "b", start, end);
      const read = chunks.flat().map((row) => (row["v"] as ExactNumber).value);
      expect(read).toEqual([start, start + 1n, end - 1n].map(String));
    }
  });

  it("sends the bounds as RFC 3339 with nine fraction digits", async () => {
    await write([`b v=1i ${T0}`]);
    await readAll(reader, "b", -1n, T0);
    expect(queries().at(-1)!.q).toBe(
      `SELECT * FROM "b" WHERE time >= '1969-12-31T23:59:59.999999999Z' AND time < '2026-01-01T00:00:00.000000000Z' ORDER BY time`,
    );
  });

  it("yields nothing for an empty result or an empty range", async () => {
    await write([`e v=1i ${T0}`]);
    expect(await readAll(reader, "e", T0 + 1n, T0 + 100n)).toEqual([]);
    const before = server.requests.length;
    expect(await readAll(reader, "e", T0, T0)).toEqual([]);
    expect(server.requests.length).toBe(before);
  });

  it("streams chunks of at most chunkRows rows, in time order", async () => {
    await write(
      Array.from({ length: 25_000 }, (_, i) => `big,h=h${i % 7} v=${i}i ${T0 + BigInt(i) * 1000n}`),
    );
    const chunks = await readAll(reader, "big", T0, T0 + 25_000_000n, 10_000);
    expect(chunks.map((c) => c.length)).toEqual([10_000, 10_000, 5_000]);
    const values = chunks.flat().map((row) => Number((row["v"] as ExactNumber).value));
    expect(values).toEqual(Array.from({ length: 25_000 }, (_, i) => i));
    expect((await readAll(reader, "big", T0, T0 + 2500n, 1)).map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it("closes the answer when the caller stops early, and reads again afterwards", async () => {
    await write(Array.from({ length: 5_000 }, (_, i) => `s v=${i}i ${T0 + BigInt(i)}`));
    for await (const chunk of reader.readRows("s", T0, T0 + 5_000n, { chunkRows: 100 })) {
      expect(chunk).toHaveLength(100);
      break;
    }
    expect((await readAll(reader, "s", T0, T0 + 5_000n)).flat()).toHaveLength(5_000);
  });

  it.each([1, 40, 200])("rejects a body cut short after %i bytes, naming the table", async (afterBytes) => {
    await write(Array.from({ length: 20 }, (_, i) => `cut,h=a v=${i}i ${T0 + BigInt(i)}`));
    server.faults.cutNextResponse(1, { afterBytes, on: "query" });
    const error = await rejection(() => readAll(reader, "cut", T0, T0 + 20n));
    expect(error.code).toBe("LOCAL_READ");
    expect(error.message).toMatch(
      /^\[edr-plugin\] reading table "cut" from 2026-01-01T00:00:00\.000000000Z to 2026-01-01T00:00:00\.000000020Z failed: the answer was cut short/,
    );
  });

  it("rejects a refused query with the status and the server's message, never the token", async () => {
    server.faults.failNext(1, {
      status: 500,
      on: "query",
      body: `{"error":"query failed: Authorization: Bearer ${TOKEN}"}`,
    });
    const error = await rejection(() => readAll(reader, "cpu", T0, T0 + 1n));
    expect(error.message).toBe(
      '[edr-plugin] reading table "cpu" from 2026-01-01T00:00:00.000000000Z to 2026-01-01T00:00:00.000000001Z failed: ' +
        'the local instance answered 500 Internal Server Error: {"error":"query failed: Authorization: Bearer <redacted>"}',
    );
  });

  it("rejects a wrong token with 401, and an unknown database with 404 saying so", async () => {
    const wrong = createSqlReader({ url: server.url, database: DB, token: `${TOKEN}-wrong` });
    expect((await rejection(() => wrong.listTables())).message).toBe(
      `[edr-plugin] listing the tables of local database "edge" failed: the local instance answered 401 Unauthorized: ` +
        `{"error":"the request was not authenticated"}; the local token was refused`,
    );
    const missing = createSqlReader({ url: server.url, database: "nowhere", token: TOKEN });
    expect((await rejection(() => missing.readColumns("cpu"))).message).toBe(
      '[edr-plugin] reading the columns of table "cpu" failed: database "nowhere" not found on the local instance ' +
        '(404 Not Found: {"error":"database not found: nowhere"})',
    );
  });

  it("rejects a query for a table that does not exist with the server's message", async () => {
    await write([`cpu v=1i ${T0}`]);
    const error = await rejection(() => readAll(reader, "nope", T0, T0 + 1n));
    expect(error.message).toContain(
      '400 Bad Request: {"error":"Error during planning: table \'public.iox.nope\' not found"}',
    );
  });

  it("stops when aborted: before the first request, and while waiting for the answer", async () => {
    await write([`a v=1i ${T0}`]);
    const aborted = new AbortController();
    aborted.abort();
    const before = await rejection(() =>
      firstChunk(reader.readRows("a", T0, T0 + 1n, { signal: aborted.signal })),
    );
    expect(before.message).toMatch(/reading table "a" .* failed: aborted$/);

    server.faults.stall(1, "query");
    const waiting = new AbortController();
    const started = Date.now();
    setTimeout(() => waiting.abort(), 50);
    const during = await rejection(() =>
      firstChunk(reader.readRows("a", T0, T0 + 1n, { signal: waiting.signal })),
    );
    expect(during.message).toMatch(/failed: aborted$/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops when aborted between two chunks", async () => {
    await write(Array.from({ length: 3_000 }, (_, i) => `a v=${i}i ${T0 + BigInt(i)}`));
    const controller = new AbortController();
    const error = await rejection(async () => {
      for await (const chunk of reader.readRows("a", T0, T0 + 3_000n, {
        chunkRows: 1_000,
        signal: controller.signal,
      })) {
        expect(chunk).toHaveLength(1_000);
        controller.abort();
      }
    });
    expect(error.message).toMatch(/failed: aborted$/);
  });

  it("gives up on a server that sends nothing for idleTimeoutMs", async () => {
    server.faults.stall(1, "query");
    const impatient = createSqlReader(
      { url: server.url, database: DB, token: TOKEN },
      { idleTimeoutMs: 100 },
    );
    expect((await rejection(() => impatient.listTables())).message).toBe(
      '[edr-plugin] listing the tables of local database "edge" failed: no data from the local instance for 100 ms',
    );
  });

  it("refuses chunkRows that is not a positive whole number", () => {
    expect(() => reader.readRows("cpu", 0n, 1n, { chunkRows: 0 })).toThrow(
      'reading table "cpu": chunkRows must be a positive whole number, got 0',
    );
  });

  it("says when the local instance cannot be reached", async () => {
    const closed = await startFakeServer(() => undefined);
    await closed.close();
    const unreachable = createSqlReader({ url: closed.url, database: DB, token: TOKEN });
    expect((await rejection(() => unreachable.listTables())).message).toMatch(
      /^\[edr-plugin\] listing the tables of local database "edge" failed: cannot reach the local instance at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
  });
});

describe("createSqlReader (answers cut short or malformed)", () => {
  it("rejects an answer whose last row has no newline, after handing over the rows before it", async () => {
    const fake = await startFakeServer((_req, res) =>
      sendPieces(res, ['{"v":1}\n{"v":2}\n{"v"', ":3}"], "end"),
    );
    try {
      const reader = createSqlReader({ url: fake.url, database: DB, token: TOKEN });
      const seen: Row[] = [];
      const error = await rejection(async () => {
        for await (const chunk of reader.readRows("t", 0n, 10n, { chunkRows: 1 })) seen.push(...chunk);
      });
      expect(seen).toEqual([{ v: new ExactNumber("1") }, { v: new ExactNumber("2") }]);
      expect(error.message).toBe(
        '[edr-plugin] reading table "t" from 1970-01-01T00:00:00.000000000Z to 1970-01-01T00:00:00.000000010Z failed: ' +
          "the answer was cut short: it ended inside row 3, before the newline that ends every row",
      );
    } finally {
      await fake.close();
    }
  });

  it("rejects malformed JSON with the row number and the row", async () => {
    const fake = await startFakeServer((_req, res) => sendPieces(res, ['{"v":1}\n{"v":01}\n'], "end"));
    try {
      const reader = createSqlReader({ url: fake.url, database: DB });
      const error = await rejection(() => readAll(reader, "t", 0n, 10n));
      expect(error.message).toContain(
        'failed: row 2 of the answer is not valid JSON (expected "," or "}" after a value at byte 14): {"v":01}',
      );
    } finally {
      await fake.close();
    }
  });

  it("rejects a connection closed between two rows", async () => {
    const fake = await startFakeServer((_req, res) => sendPieces(res, ['{"v":1}\n'], "cut"));
    try {
      const reader = createSqlReader({ url: fake.url, database: DB });
      const error = await rejection(() => readAll(reader, "t", 0n, 10n));
      expect(error.message).toMatch(/the answer was cut short: the connection closed before it was complete/);
    } finally {
      await fake.close();
    }
  });

  it("sends a query again, once, when a kept-alive connection turns out closed", async () => {
    const served = new WeakSet<object>();
    const fake = await startFakeServer((req, res) => {
      // The server drops a connection it already answered on, as one closing idle connections does.
      if (served.has(req.socket)) {
        req.socket.destroy();
        return;
      }
      served.add(req.socket);
      sendPieces(res, ['{"table_schema":"iox","table_name":"t"}\n'], "end");
    });
    try {
      const reader = createSqlReader({ url: fake.url, database: DB });
      expect(await reader.listTables()).toEqual(["t"]);
      expect(await reader.listTables()).toEqual(["t"]);
      expect(fake.requests).toHaveLength(3);
    } finally {
      await fake.close();
    }
  });

  it("reads a row split anywhere across the pieces of the answer", async () => {
    const body = '{"s":"ünï 漢字 😀","v":9007199254740993}\n'.repeat(3);
    const bytes = Buffer.from(body);
    const fake = await startFakeServer((_req, res) => {
      res.writeHead(200, { "transfer-encoding": "chunked" });
      // One byte at a time: characters of two, three and four bytes are split too.
      for (let i = 0; i < bytes.length; i++) res.write(bytes.subarray(i, i + 1));
      res.end();
    });
    try {
      const rows = (await readAll(createSqlReader({ url: fake.url, database: DB }), "t", 0n, 1n)).flat();
      expect(rows).toEqual(Array(3).fill({ s: "ünï 漢字 😀", v: new ExactNumber("9007199254740993") }));
    } finally {
      await fake.close();
    }
  });
});
