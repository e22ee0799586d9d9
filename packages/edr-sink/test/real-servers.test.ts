import { createInfluxDB1Database, readInfluxDB1Points, sortStoredPoints } from "edr-testkit";
import type { StoredPoint } from "edr-testkit";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createSink } from "../src/index.js";
import type { Sink, SinkOptions } from "../src/index.js";
import { recordingLogger } from "./helpers.js";

const sinks: Sink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});
function open(options: SinkOptions): Sink {
  const sink = createSink({ logger: recordingLogger(), sleep: async () => undefined, ...options });
  sinks.push(sink);
  return sink;
}

/** Lines that exercise every escape and bound InfluxDB 1.6.7 can store, and the points they must become. */
const TRICKY: [string, StoredPoint][] = [
  [
    String.raw`we\ ird\,m,tag\ key=tag\,val\=ue,t2=a\ b f\=k\ ey="quote \" and backslash \\ and, comma = eq" 1`,
    {
      measurement: "we ird,m",
      tags: { "tag key": "tag,val=ue", t2: "a b" },
      fields: { "f=k ey": { type: "string", value: 'quote " and backslash \\ and, comma = eq' } },
      timeNs: 1n,
    },
  ],
  [
    `ints,host=a max=9223372036854775807i,min=-9223372036854775808i,zero=0i 1700000000123456789`,
    {
      measurement: "ints",
      tags: { host: "a" },
      fields: {
        max: { type: "integer", value: 9223372036854775807n },
        min: { type: "integer", value: -9223372036854775808n },
        zero: { type: "integer", value: 0n },
      },
      timeNs: 1700000000123456789n,
    },
  ],
  [
    `floats pi=3.141592653589793,tiny=5e-324,big=1.7976931348623157e+308,neg=-0.1 -1000`,
    {
      measurement: "floats",
      tags: {},
      fields: {
        pi: { type: "float", value: Math.PI },
        tiny: { type: "float", value: 5e-324 },
        big: { type: "float", value: 1.7976931348623157e308 },
        neg: { type: "float", value: -0.1 },
      },
      timeNs: -1000n,
    },
  ],
  [
    `strings,unicode=héllo\\ wörld s="line1\nline2",b=true,e="" 42`,
    {
      measurement: "strings",
      tags: { unicode: "héllo wörld" },
      fields: {
        s: { type: "string", value: "line1\nline2" },
        b: { type: "boolean", value: true },
        e: { type: "string", value: "" },
      },
      timeNs: 42n,
    },
  ],
];

describe("InfluxDB 1.6.7 through /write (v1)", () => {
  it("stores tricky lines exactly", async () => {
    const url = inject("influxdb1Url");
    await createInfluxDB1Database(url, "sink_tricky");
    const sink = open({
      url,
      database: "sink_tricky",
      writeApi: "v1",
      token: "unused-by-1x",
      gzipThresholdBytes: 0,
    });
    const result = await sink.write(TRICKY.map(([line]) => line));
    expect(result).toMatchObject({ delivered: TRICKY.length, rejected: 0, notDelivered: 0 });
    expect(sortStoredPoints(await readInfluxDB1Points(url, "sink_tricky"))).toEqual(
      sortStoredPoints(TRICKY.map(([, point]) => point)),
    );
  });

  it("isolates the bad line of a partial batch and stores the good ones", async () => {
    const url = inject("influxdb1Url");
    await createInfluxDB1Database(url, "sink_partial");
    const sink = open({ url, database: "sink_partial", writeApi: "v1" });
    const lines = Array.from({ length: 20 }, (_, i) => `cpu,host=h${i % 3} v=${i}i ${1000 + i}`);
    lines[13] = "cpu,host=h1 v=13i,v=oops 1013";
    const result = await sink.write(lines);
    expect(result).toMatchObject({ delivered: 19, rejected: 1, notDelivered: 0 });
    expect(result.outcomes[13]).toMatchObject({ kind: "rejected", status: 400 });
    expect((result.outcomes[13] as { message: string }).message).toMatch(/partial write|unable to parse/);
    const expected = lines
      .map((_, i) => i)
      .filter((i) => i !== 13)
      .map((i): StoredPoint => ({
        measurement: "cpu",
        tags: { host: `h${i % 3}` },
        fields: { v: { type: "integer", value: BigInt(i) } },
        timeNs: BigInt(1000 + i),
      }));
    expect(sortStoredPoints(await readInfluxDB1Points(url, "sink_partial"))).toEqual(
      sortStoredPoints(expected),
    );
  });
});

describe("InfluxDB 1.6.7 with overlapping calls", () => {
  it("stores every good line of calls that share requests, and rejects the bad one in its own call", async () => {
    const url = inject("influxdb1Url");
    await createInfluxDB1Database(url, "sink_overlap");
    const sink = open({ url, database: "sink_overlap", writeApi: "v1", batchLines: 25, maxInFlight: 4 });
    const calls = Array.from({ length: 5 }, (_, c) =>
      Array.from({ length: 40 }, (_, k) => {
        const i = c * 40 + k;
        return `mem,host=h${i % 8} used=${i}i ${5000 + i}`;
      }),
    );
    calls[2]![17] = "mem,host=h1 used=oops 5097";
    const results = await Promise.all(calls.map((lines) => sink.write(lines)));
    expect(results.map((r) => [r.delivered, r.rejected, r.notDelivered])).toEqual([
      [40, 0, 0],
      [40, 0, 0],
      [39, 1, 0],
      [40, 0, 0],
      [40, 0, 0],
    ]);
    expect(results[2]!.outcomes[17]).toMatchObject({ kind: "rejected", status: 400 });
    const expected = calls
      .flat()
      .map((_, i): StoredPoint | undefined =>
        i === 97
          ? undefined
          : {
              measurement: "mem",
              tags: { host: `h${i % 8}` },
              fields: { used: { type: "integer", value: BigInt(i) } },
              timeNs: BigInt(5000 + i),
            },
      )
      .filter((p) => p !== undefined);
    expect(sortStoredPoints(await readInfluxDB1Points(url, "sink_overlap"))).toEqual(
      sortStoredPoints(expected),
    );
  });
});

describe("VictoriaMetrics through /api/v2/write", () => {
  it("stores what the sink sends", async () => {
    const url = inject("victoriaMetricsUrl");
    const sink = open({ url, database: "sink_vm", writeApi: "v2", token: "unused-by-vm", batchLines: 50 });
    const lines = Array.from(
      { length: 200 },
      (_, i) => `vmtest,host=h${i % 4} value=${i} ${(1_700_000_000_000 + i) * 1_000_000}`,
    );
    const result = await sink.write(lines);
    expect(result).toMatchObject({ delivered: 200, rejected: 0, notDelivered: 0 });
    expect((await fetch(`${url}/internal/force_flush`)).ok).toBe(true);
    const query = new URLSearchParams({
      "match[]": '{__name__="vmtest_value"}',
      start: "1699999999",
      end: "1700000001",
    });
    const exported = await (await fetch(`${url}/api/v1/export?${query.toString()}`)).text();
    const series = exported
      .trim()
      .split("\n")
      .map(
        (l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] },
      );
    expect(series.map((s) => s.metric.host).sort()).toEqual(["h0", "h1", "h2", "h3"]);
    for (const s of series) {
      const h = Number(s.metric.host!.slice(1));
      const want = lines.map((_, i) => i).filter((i) => i % 4 === h);
      expect(s.values).toEqual(want);
      expect(s.timestamps).toEqual(want.map((i) => 1_700_000_000_000 + i));
    }
  });
});
