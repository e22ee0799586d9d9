// The InfluxQL reader against the real InfluxDB 1.6.7 of the vitest global setup (one database per test),
// and, for answers a healthy server does not send, a bare HTTP server that writes them byte by byte.
import { createInfluxDB1Database, writeInfluxDB1 } from "edr-testkit";
import { createRowConverter, type Row } from "edr-transform";
import { describe, expect, inject, it } from "vitest";
import { PluginError } from "../src/errors.js";
import { createInfluxQLReader } from "../src/readers/influxql-reader.js";
import { ExactNumber } from "../src/readers/json-scanner.js";
import type { LocalReader } from "../src/readers/local-reader.js";
import { sendPieces, startFakeServer } from "./readers-fake-server.js";

const TOKEN = "influxql-reader-secret-token-2718";
const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
const MAX = 2n ** 63n - 1n;

const HOSTILE_MEASUREMENTS = [
  'a"b',
  "x'; DROP MEASUREMENT y; --",
  "Mixed Case",
  "dots.in.name",
  "back\\slash",
  "ünï 漢字",
];

let databases = 0;

/** A fresh database on the 1.6.7 instance holding `lines`, and a reader of it. */
async function databaseWith(
  lines: readonly string[],
): Promise<{ reader: LocalReader; db: string; url: string }> {
  const url = inject("influxdb1Url");
  const db = `readers_influxql_${process.pid}_${++databases}`;
  await createInfluxDB1Database(url, db);
  if (lines.length > 0) {
    const answer = await writeInfluxDB1(url, db, lines.join("\n"));
    expect(answer, answer.body).toMatchObject({ status: 204 });
  }
  return { reader: createInfluxQLReader({ url, database: db, token: TOKEN }), db, url };
}

/** A measurement name as line protocol writes it (comma and space escaped). */
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

async function rejection(work: () => Promise<unknown>): Promise<PluginError> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(PluginError);
    expect((error as PluginError).code).toBe("LOCAL_READ");
    expect((error as PluginError).message).not.toContain(TOKEN);
    return error as PluginError;
  }
  throw new Error("expected a rejection");
}

const ns = (row: Row): string => (row["time"] as ExactNumber).value;

describe("createInfluxQLReader (InfluxDB 1.6.7)", () => {
  it("lists the measurements, sorted", async () => {
    const { reader } = await databaseWith([
      "zeta v=1 1",
      "alpha v=1 1",
      ...HOSTILE_MEASUREMENTS.map((m) => `${lpName(m)} v=1 1`),
    ]);
    expect(await reader.listTables()).toEqual([...HOSTILE_MEASUREMENTS, "alpha", "zeta"].sort());
  });

  it("types the columns from SHOW FIELD KEYS and SHOW TAG KEYS, fresh on every call", async () => {
    const { reader, url, db } = await databaseWith(['cpu,host=a usage=0.5,count=3i,note="x",ok=true 1']);
    expect(await reader.readColumns("cpu")).toEqual([
      { table_name: "cpu", column_name: "time", data_type: "Timestamp(ns)" },
      { table_name: "cpu", column_name: "count", data_type: "Int64" },
      { table_name: "cpu", column_name: "host", data_type: "Dictionary(Int32, Utf8)" },
      { table_name: "cpu", column_name: "note", data_type: "Utf8" },
      { table_name: "cpu", column_name: "ok", data_type: "Boolean" },
      { table_name: "cpu", column_name: "usage", data_type: "Float64" },
    ]);
    await writeInfluxDB1(url, db, "cpu,host=a,region=eu added=1i 2");
    expect((await reader.readColumns("cpu")).map((c) => c.column_name)).toContain("added");
    expect(await reader.readColumns("nope")).toEqual([]);
  });

  it.each(HOSTILE_MEASUREMENTS)("reads the measurement named %j and nothing else", async (name) => {
    const { reader } = await databaseWith([`${lpName(name)},t=1 v=1i ${T0}`, `y v=2i ${T0}`]);
    expect((await reader.readColumns(name)).map((c) => c.column_name)).toEqual(["time", "t", "v"]);
    expect(await readAll(reader, name, T0, T0 + 1n)).toEqual([
      [{ time: new ExactNumber(String(T0)), t: "1", v: new ExactNumber("1") }],
    ]);
  });

  it("keeps int64 bounds, whole floats as floats and strings exact, through edr-transform's converter", async () => {
    const { reader } = await databaseWith([
      `v,h=a i=9223372036854775807i,n=-9223372036854775808i,f=21.0 ${T0}`,
      `v,h=a s="quote \\" backslash \\\\ newline \n tab \t ünï 😀",b=false,f=1.7976931348623157e308 ${T0 + 1n}`,
      `v,h=b i=0i ${T0 + 2n}`,
    ]);
    const columns = await reader.readColumns("v");
    const [rows] = await readAll(reader, "v", T0, T0 + 3n);
    expect(rows).toEqual([
      {
        time: new ExactNumber(String(T0)),
        f: new ExactNumber("21"),
        h: "a",
        i: new ExactNumber("9223372036854775807"),
        n: new ExactNumber("-9223372036854775808"),
      },
      {
        time: new ExactNumber(String(T0 + 1n)),
        b: false,
        f: new ExactNumber("1.7976931348623157e+308"),
        h: "a",
        s: 'quote " backslash \\ newline \n tab \t ünï 😀',
      },
      // NULL columns are left out of the row.
      { time: new ExactNumber(String(T0 + 2n)), h: "b", i: new ExactNumber("0") },
    ]);
    const lines = createRowConverter("v", columns).toLines(rows!);
    expect(lines.rejected).toEqual([]);
    // 1.x prints 21.0 as 21: the schema keeps it a float (no `i`).
    expect(lines.items).toEqual([
      `v,h=a f=21,i=9223372036854775807i,n=-9223372036854775808i ${T0}`,
      `v,h=a b=false,f=1.7976931348623157e+308,s="quote \\" backslash \\\\ newline \n tab \t ünï 😀" ${T0 + 1n}`,
      `v,h=b i=0i ${T0 + 2n}`,
    ]);
  });

  it("keeps a tag that shares its key with a field, as <key>_1", async () => {
    const { reader } = await databaseWith([`m,x=tag x=1.5,y=2i ${T0}`]);
    expect((await reader.readColumns("m")).map((c) => [c.column_name, c.data_type])).toEqual([
      ["time", "Timestamp(ns)"],
      ["x", "Float64"],
      ["x_1", "Dictionary(Int32, Utf8)"],
      ["y", "Int64"],
    ]);
    expect((await readAll(reader, "m", T0, T0 + 1n)).flat()).toEqual([
      { time: new ExactNumber(String(T0)), x: new ExactNumber("1.5"), x_1: "tag", y: new ExactNumber("2") },
    ]);
  });

  it("reads exactly [start, end) to the nanosecond, before 1970 and far in the future", async () => {
    for (const start of [T0, -1_000_000_000_000_000_000n, MAX - 10n]) {
      const end = start + 5n;
      const times = [start - 1n, start, start + 1n, end - 1n, end].filter((t) => t <= MAX);
      const { reader } = await databaseWith(times.map((t) => `b v=1i ${t}`));
      const read = (await readAll(reader, "b", start, end)).flat().map(ns);
      expect(read).toEqual([start, start + 1n, end - 1n].map(String));
    }
  });

  it("reads in chunked mode and hands over chunks of at most chunkRows, in time order", async () => {
    const lines = Array.from(
      { length: 25_000 },
      (_, i) => `big,h=h${i % 7} v=${i}i ${T0 + BigInt(i) * 1000n}`,
    );
    const { reader } = await databaseWith(lines);
    const chunks = await readAll(reader, "big", T0, T0 + 25_000_000n, 10_000);
    expect(chunks.map((c) => c.length)).toEqual([10_000, 10_000, 5_000]);
    const values = chunks.flat().map((row) => Number((row["v"] as ExactNumber).value));
    expect(values).toEqual(Array.from({ length: 25_000 }, (_, i) => i));
    expect((await readAll(reader, "big", T0, T0 + 2500n, 1)).map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it("yields nothing for an empty window, a missing measurement or an empty range", async () => {
    const { reader } = await databaseWith([`e v=1i ${T0}`]);
    expect(await readAll(reader, "e", T0 + 1n, T0 + 100n)).toEqual([]);
    expect(await readAll(reader, "nope", T0, T0 + 100n)).toEqual([]);
    expect(await readAll(reader, "e", T0, T0)).toEqual([]);
  });

  it("says that the database does not exist (1.x answers with a 200 and a statement error)", async () => {
    const reader = createInfluxQLReader({
      url: inject("influxdb1Url"),
      database: "nowhere_db",
      token: TOKEN,
    });
    expect((await rejection(() => reader.readColumns("cpu"))).message).toBe(
      '[edr-plugin] reading the columns of measurement "cpu" failed: database "nowhere_db" not found on the local instance ' +
        "(database not found: nowhere_db)",
    );
  });

  it("stops when aborted between two chunks", async () => {
    const { reader } = await databaseWith(
      Array.from({ length: 3_000 }, (_, i) => `a v=${i}i ${T0 + BigInt(i)}`),
    );
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
    expect(error.message).toMatch(/^\[edr-plugin\] reading measurement "a" from .* failed: aborted$/);
  });
});

describe("createInfluxQLReader (answers a test writes)", () => {
  const SCHEMA: Record<string, string> = {
    "SHOW FIELD KEYS":
      '{"results":[{"statement_id":0,"series":[{"name":"m","columns":["fieldKey","fieldType"],"values":[["v","integer"]]}]}]}\n',
    "SHOW TAG KEYS": '{"results":[{"statement_id":0}]}\n',
  };
  const doc = (rows: string, partial: boolean) =>
    `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","v"],"values":[${rows}]${partial ? ',"partial":true' : ""}}]${partial ? ',"partial":true' : ""}}]}\n`;

  async function withAnswer(
    pieces: string[],
    ending: "end" | "cut",
    check: (reader: LocalReader) => Promise<void>,
  ) {
    const fake = await startFakeServer((req, res) => {
      const q = new URL(req.url ?? "/", "http://x").searchParams.get("q") ?? "";
      const schema = Object.entries(SCHEMA).find(([prefix]) => q.startsWith(prefix));
      if (schema) sendPieces(res, [schema[1]], "end");
      else sendPieces(res, pieces, ending);
    });
    try {
      await check(createInfluxQLReader({ url: fake.url, database: "db", token: TOKEN }));
      const select = fake.requests.at(-1)!;
      expect(select.headers["authorization"]).toBe(`Bearer ${TOKEN}`);
      expect(select.url).not.toContain(TOKEN);
      const params = new URL(select.url, "http://x").searchParams;
      expect(Object.fromEntries(params)).toMatchObject({ db: "db", epoch: "ns", chunked: "true" });
    } finally {
      await fake.close();
    }
  }

  it("reads documents ended by \\r\\n (InfluxDB 3) and a last one without a newline", async () => {
    await withAnswer(
      [doc("[1,5],[2,6]", true).replace("\n", "\r\n"), doc("[3,7]", false).trimEnd()],
      "end",
      async (reader) => {
        expect((await readAll(reader, "m", 0n, 10n)).flat().map(ns)).toEqual(["1", "2", "3"]);
      },
    );
  });

  it("rejects an answer whose last document says more was to come", async () => {
    await withAnswer([doc("[1,5]", true)], "end", async (reader) => {
      const error = await rejection(() => readAll(reader, "m", 0n, 10n));
      expect(error.message).toBe(
        '[edr-plugin] reading measurement "m" from 1970-01-01T00:00:00.000000000Z to 1970-01-01T00:00:00.000000010Z failed: ' +
          'the answer was cut short: its last document was marked "partial", but no more followed',
      );
    });
  });

  it("rejects a connection closed inside a document", async () => {
    await withAnswer([doc("[1,5]", true), doc("[2,6]", false).slice(0, 30)], "cut", async (reader) => {
      const error = await rejection(() => readAll(reader, "m", 0n, 10n));
      expect(error.message).toMatch(
        /failed: the answer was cut short: the connection closed before it was complete/,
      );
    });
  });

  it("rejects a statement error sent after the first rows", async () => {
    await withAnswer(
      [doc("[1,5]", true), '{"results":[{"statement_id":0,"error":"shard gone"}]}\n'],
      "end",
      async (reader) => {
        const error = await rejection(() => readAll(reader, "m", 0n, 10n));
        expect(error.message).toMatch(/failed: the query failed: shard gone$/);
      },
    );
  });

  it("rejects an answer whose columns are not the selected ones", async () => {
    const wrong =
      '{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","w"],"values":[[1,5]]}]}]}\n';
    await withAnswer([wrong], "end", async (reader) => {
      const error = await rejection(() => readAll(reader, "m", 0n, 10n));
      expect(error.message).toMatch(
        /failed: the answer's columns \["time","w"\] are not the selected ones \["time","v"\]$/,
      );
    });
  });
});
