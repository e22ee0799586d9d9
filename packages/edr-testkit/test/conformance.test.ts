// Conformance: the same line protocol, written over v1 `/write`, to the InfluxDB-3-compatible test server and
// to a real InfluxDB 1.6.7 (the fidelity oracle), must be stored the same way. Where InfluxDB 3 and 1.6.7
// legitimately differ, the case says why and checks each side against its own expectation: the test server
// against the wire reference (docs/influxdb3-wire.md at the repository root) and the InfluxDB 3 source it was read
// from, 1.6.7 against what it is known to do.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import {
  createInfluxDB1Database,
  readInfluxDB1Points,
  sortStoredPoints,
  startInfluxDB3Server,
  writeInfluxDB1,
  type InfluxDB3TestServer,
} from "../src/index.js";
import type { StoredField, StoredPoint } from "../src/stored-point.js";

/** v1 `precision`: n, u, ms, s (and a spelling v1 does not know, for the case that shows it). */
type Precision = string;

/** A case both servers must agree on: same stored points, same success/failure per write. */
interface AgreeCase {
  name: string;
  /** Request bodies, sent one after the other to v1 `/write`. */
  writes: string[];
  /** How many points must be stored, so two servers that both store nothing cannot agree by accident. */
  stored: number;
  precision?: Precision;
  /** Timestamps come from the server clock: checked to lie within the test's window, then compared as 0. */
  serverTime?: boolean;
  /**
   * The test server disagrees with both InfluxDB 1.6.7 and the InfluxDB 3 source: a bug in the test server.
   * The case then runs as `it.fails` (it flips red once the bug is fixed, so the marker gets removed).
   */
  serverBug?: string;
}

/** What one side stores and answers for a case where InfluxDB 3 and 1.6.7 legitimately differ. */
interface Outcome {
  /** Status of each write, in order. */
  statuses: number[];
  stored: StoredPoint[];
  /** Patterns the error body of each write must match (undefined = not checked). */
  bodies?: (RegExp | undefined)[];
}

interface DifferCase {
  name: string;
  writes: string[];
  precision?: Precision;
  /** Why they differ, and where that is written down. */
  why: string;
  influxdb1: Outcome;
  /** What InfluxDB 3 does (per the wire reference), so what the test server must do. */
  influxdb3: Outcome;
  serverBug?: string;
}

// EDR_CONFORMANCE_SHOW_BUGS=1 runs the known test-server bugs as plain tests, to see their diffs.
const SHOW_BUGS = process.env["EDR_CONFORMANCE_SHOW_BUGS"] === "1";

const float = (value: number): StoredField => ({ type: "float", value });
const point = (
  measurement: string,
  tags: Record<string, string>,
  fields: Record<string, StoredField>,
  timeNs: bigint,
): StoredPoint => ({ measurement, tags, fields, timeNs });

// v1 on InfluxDB 3 never writes partially: one bad line rejects the batch with this body.
const V3_V1_REJECTED =
  /^\{"error":"line protocol parsing error","data":\{"error_message":".+","line_number":\d+,"original_line":".*"\}\}$/;

// One line per case: `writes` are the request bodies; `stored` the number of points both must keep.
// prettier-ignore
const AGREE: AgreeCase[] = [
  { name: "plain float, integer, string, boolean", writes: ['cpu,host=a usage=0.5,n=3i,s="ok",up=t 1700000000000000000'], stored: 1 },
  { name: "escaped comma and space in the measurement", writes: [String.raw`c\,p\ u f=1 1`], stored: 1 },
  { name: "escaped comma, equals and space in tag keys and values", writes: [String.raw`m,t\,a\=g\ k=v\,a\=l\ ue f=1 1`], stored: 1 },
  { name: "escaped comma, equals and space in field keys", writes: [String.raw`m f\,i\=e\ ld=1 1`], stored: 1 },
  { name: "equals sign unescaped in the measurement is kept", writes: [String.raw`a=b f=1 1`], stored: 1 },
  { name: "backslash before another character is kept literally", writes: [String.raw`m\x,t\k=v\w f\g=1 1`], stored: 1 },
  { name: "int64 bounds", writes: ["m max=9223372036854775807i,min=-9223372036854775808i,zero=-0i 1"], stored: 1 },
  { name: "int64 overflow is rejected", writes: ["m f=9223372036854775808i 1", "m f=-9223372036854775809i 1"], stored: 0 },
  { name: "float -0 keeps its sign", writes: ["m f=-0,g=-0.0 1"], stored: 1 },
  { name: "smallest subnormal and largest float", writes: ["m sub=5e-324,max=1.7976931348623157e308,neg=-1.7976931348623157e308 1"], stored: 1 },
  { name: "float exponents and case", writes: ["m a=1e5,b=1E5,c=-1.2e+78,d=1.5e-300,e=2.5E-3,f=123456789012345678 1"], stored: 1 },
  { name: "float digits beyond double precision round the same way", writes: ["m a=0.1,b=0.30000000000000004,c=3.141592653589793238462643 1"], stored: 1 },
  { name: "whole floats stay floats", writes: ["m a=100,b=-7,c=1.0 1"], stored: 1 },
  { name: "string with escaped quotes and backslashes", writes: [String.raw`m s="say \"hi\" c:\\dir\\" 1`], stored: 1 },
  { name: "string with a raw newline inside the quotes", writes: ['m s="line1\nline2",n=1i 1\nm s="x" 2'], stored: 2 },
  { name: "string with a lone backslash before another character", writes: [String.raw`m s="a\nb\tc" 1`], stored: 1 },
  { name: "empty string", writes: ['m s="" 1'], stored: 1 },
  { name: "string with commas, equals, spaces and a hash", writes: ['m s="a, b=c #d" 1'], stored: 1 },
  { name: "unicode in every position", writes: ['mé漢,tág=välue✓ fïeld="ünïcødé 🎉",n=1 1'], stored: 1 },
  { name: "nanosecond timestamps, negative and large", writes: ["m f=1 1\nm f=2 -1\nm f=3 1700000000123456789\nm f=4 -9223372036854775806\nm f=5 9223372036854775806"], stored: 5 },
  { name: "precision=u", precision: "u", writes: ["m f=1 1700000000123456"], stored: 1 },
  { name: "precision=ms", precision: "ms", writes: ["m f=1 1700000000123"], stored: 1 },
  { name: "precision=s", precision: "s", writes: ["m f=1 1700000000\nm f=2 -1"], stored: 2 },
  { name: "no timestamp: the server's clock", writes: ["m f=1"], stored: 1, serverTime: true },
  { name: "true spellings", writes: ["m a=t,b=T,c=true,d=True,e=TRUE 1"], stored: 1 },
  { name: "false spellings", writes: ["m a=f,b=F,c=false,d=False,e=FALSE 1"], stored: 1 },
  { name: "other boolean spellings are rejected", writes: ["m a=yes 1", "m a=tRUE 1", "m a=truE 1"], stored: 0 },
  { name: "comments and blank lines are skipped", writes: ["# a comment\n\nm f=1 1\n   # indented comment\n\nm f=2 2\n"], stored: 2 },
  { name: "trailing spaces after the timestamp", writes: ["m f=1 1   "], stored: 1 },
  { name: "several spaces between sections", writes: ["m,t=a   f=1   1"], stored: 1 },
  { name: "tags are a set: order does not matter", writes: ["m,b=2,a=1 f=1 1\nm,a=1,b=2 g=2 1"], stored: 1 },
  { name: "same series and time: fields merge, newest wins", writes: ["m,t=a f=1,g=1 5", "m,t=a f=2 5\nm,t=a f=3,h=3 5"], stored: 1 },
  { name: "same time, different tags: separate points", writes: ["m,t=a f=1 5\nm,t=b f=2 5\nm f=3 5"], stored: 3 },
  { name: "type conflict with a stored column is rejected", writes: ["m f=1 1", "m f=2i 2", 'm f="s" 3', "m f=t 4"], stored: 1 },
  { name: "integer column refuses a float", writes: ["m n=1i 1", "m n=1.5 2"], stored: 1 },
  { name: "type conflict on a new field inside one batch: nothing stored", writes: ["m f=1 1\nm f=2i 2"], stored: 0 },
  { name: "a whole-bad batch stores nothing", writes: ["m\nm f=\nm f=1 x"], stored: 0 },
  { name: "missing fields", writes: ["m,t=a 1"], stored: 0 },
  { name: "empty tag value", writes: ["m,t= f=1 1"], stored: 0 },
  { name: "duplicate tag keys", writes: ["m,t=a,t=b f=1 1"], stored: 0 },
  { name: "time as a tag key", writes: ["m,time=a f=1 1"], stored: 0 },
  { name: "a carriage return breaks the timestamp", writes: ["m f=1 1\r"], stored: 0 },
  { name: "unbalanced quotes", writes: ['m s="abc 1'], stored: 0 },
  { name: "a trailing comma in the field set", writes: ["m f=1, 1"], stored: 0 },
  { name: "a tab is not a separator", writes: ["m\tf=1 1", "m f=1\t1"], stored: 0 },
  { name: "an empty tag key", writes: ["m, f=1 1", "m,t=a, f=1 1"], stored: 0 },
  { name: "anything after the timestamp", writes: ["m f=1 1 2"], stored: 0 },
  { name: "leading zeros in integers and timestamps", writes: ["m f=01i 007"], stored: 1 },
  { name: "an exponent on an integer", writes: ["m f=1e5i 1"], stored: 0 },
  { name: "a cut-off boolean", writes: ["m f=t,g=tru 1"], stored: 0 },
  { name: "NaN and infinity are not numbers", writes: ["m f=NaN 1", "m f=infinity 1", "m f=inf 1", "m f=-Inf 1"], stored: 0 },
  { name: "an escaped space ending the measurement", writes: [String.raw`m\  f=1 1`], stored: 1 },
  { name: "an escaped space and then no separator", writes: [String.raw`m\ f=1 1`], stored: 0 },
  { name: "a double quote in a tag value does not start a string", writes: ['m,t=a"b f=1 1\nm,t=c f=2 2'], stored: 2 },
  { name: "leading whitespace before the measurement", writes: ["  m f=1 1\n\tm f=2 2"], stored: 2 },
  { name: "a leading plus sign is not a number", writes: ["m f=+1 1", "m f=+1i 1"], stored: 0 },
];

// Cases where InfluxDB 3 and 1.6.7 differ; the test server must do what InfluxDB 3 does.
const DIFFER: DifferCase[] = [
  {
    name: "a bad line among good ones",
    writes: ["m f=1 1\nm f=oops 2\nm f=3 3"],
    why: "1.6.7 keeps the good lines of a v1 batch; InfluxDB 3's v1 /write never writes partially (wire reference: partial writes)",
    influxdb1: {
      statuses: [400],
      stored: [point("m", {}, { f: float(1) }, 1n), point("m", {}, { f: float(3) }, 3n)],
      bodies: [/^\{"error":"partial write: unable to parse 'm f=oops 2'/],
    },
    influxdb3: { statuses: [400], stored: [], bodies: [V3_V1_REJECTED] },
  },
  {
    name: "a type conflict with a stored column among good lines",
    writes: ["m f=1 1", "m f=2 2\nm f=3i 3\nm f=4 4"],
    why: "1.6.7 drops only the conflicting line; InfluxDB 3's v1 /write rejects the batch",
    influxdb1: {
      statuses: [204, 400],
      stored: [1n, 2n, 4n].map((t) => point("m", {}, { f: float(Number(t)) }, t)),
      bodies: [undefined, /field type conflict/],
    },
    influxdb3: {
      statuses: [204, 400],
      stored: [point("m", {}, { f: float(1) }, 1n)],
      bodies: [undefined, V3_V1_REJECTED],
    },
  },
  {
    name: "a field repeated in one line",
    writes: ["m f=1,f=2 1"],
    why: "1.6.7 keeps the last value; InfluxDB 3 rejects the line (wire reference: a field repeated in one line)",
    influxdb1: { statuses: [204], stored: [point("m", {}, { f: float(2) }, 1n)] },
    influxdb3: { statuses: [400], stored: [], bodies: [V3_V1_REJECTED] },
  },
  {
    name: "the same name as tag and field",
    writes: ["m,x=a x=1 1"],
    why: "1.6.7 stores both; InfluxDB 3 has one column per name (wire reference: tag vs field)",
    influxdb1: { statuses: [204], stored: [point("m", { x: "a" }, { x: float(1) }, 1n)] },
    influxdb3: { statuses: [400], stored: [], bodies: [V3_V1_REJECTED] },
  },
  {
    name: "time as a field key",
    writes: ["m time=1,f=2 1"],
    why: "1.6.7 silently drops the field `time`; InfluxDB 3 rejects the line (wire reference: reserved names)",
    influxdb1: { statuses: [204], stored: [point("m", {}, { f: float(2) }, 1n)] },
    influxdb3: { statuses: [400], stored: [], bodies: [V3_V1_REJECTED] },
  },
  {
    name: "unsigned integers",
    writes: ["m u=18446744073709551615u,z=0u 1"],
    why: "1.6.7 has no `u` suffix; InfluxDB 3 stores UInt64 (wire reference: numbers)",
    influxdb1: { statuses: [400], stored: [], bodies: [/invalid number/] },
    influxdb3: {
      statuses: [204],
      stored: [
        point(
          "m",
          {},
          { u: { type: "unsigned", value: 18446744073709551615n }, z: { type: "unsigned", value: 0n } },
          1n,
        ),
      ],
    },
  },
  {
    name: "an unescaped equals sign in a tag value",
    writes: ["m,t=a=b f=1 1"],
    why: "1.6.7 rejects it; InfluxDB 3's tag_value parser takes `=` as a plain character",
    influxdb1: { statuses: [400], stored: [], bodies: [/invalid tag format/] },
    influxdb3: { statuses: [204], stored: [point("m", { t: "a=b" }, { f: float(1) }, 1n)] },
  },
  {
    name: "timestamps at the very ends of int64",
    writes: ["m f=1 9223372036854775807", "m f=2 -9223372036854775808"],
    why: "1.6.7 reserves the two extreme values; InfluxDB 3 takes any i64",
    influxdb1: { statuses: [400, 400], stored: [], bodies: [/time outside range/, /time outside range/] },
    influxdb3: {
      statuses: [204, 204],
      stored: [
        point("m", {}, { f: float(2) }, -9223372036854775808n),
        point("m", {}, { f: float(1) }, 9223372036854775807n),
      ],
    },
  },
  {
    name: "an escaped equals sign in the measurement",
    writes: [String.raw`m\=x f=1 1`],
    why: "1.6.7 decodes `\\=` in a measurement; InfluxDB 3 escapes only comma, space and backslash there (wire reference: escapes)",
    influxdb1: { statuses: [204], stored: [point("m=x", {}, { f: float(1) }, 1n)] },
    influxdb3: { statuses: [204], stored: [point(String.raw`m\=x`, {}, { f: float(1) }, 1n)] },
  },
  {
    name: "a double backslash in names",
    writes: [String.raw`m\\x,t\\k=v\\w f\\g=1 1`],
    why: "1.6.7 keeps both backslashes; InfluxDB 3's escaped_value() decodes an escaped backslash to one",
    influxdb1: {
      statuses: [204],
      stored: [
        point(
          String.raw`m\\x`,
          { [String.raw`t\\k`]: String.raw`v\\w` },
          { [String.raw`f\\g`]: float(1) },
          1n,
        ),
      ],
    },
    influxdb3: {
      statuses: [204],
      stored: [
        point(String.raw`m\x`, { [String.raw`t\k`]: String.raw`v\w` }, { [String.raw`f\g`]: float(1) }, 1n),
      ],
    },
  },
  {
    name: "floats without digits on both sides of the point",
    writes: ["m a=.5 1", "m b=1. 2"],
    why: "1.6.7 takes `.5` and `1.`; InfluxDB 3's field_float_value needs digits before and after the point",
    influxdb1: {
      statuses: [204, 204],
      stored: [point("m", {}, { a: float(0.5) }, 1n), point("m", {}, { b: float(1) }, 2n)],
    },
    influxdb3: { statuses: [400, 400], stored: [], bodies: [V3_V1_REJECTED, V3_V1_REJECTED] },
  },
  {
    name: "an unescaped comma in a field key or tag key",
    writes: ["m a,b=1 1", "n,a,b=c f=1 1"],
    why: "1.6.7 reads the comma as a separator and rejects the line; InfluxDB 3's field_key and tag_key parsers take `,` as a plain character",
    influxdb1: { statuses: [400, 400], stored: [] },
    influxdb3: {
      statuses: [204, 204],
      stored: [point("m", {}, { "a,b": float(1) }, 1n), point("n", { "a,b": "c" }, { f: float(1) }, 1n)],
    },
  },
  {
    name: "an empty field between commas",
    writes: ["m f=1,,g=2 1"],
    why: "1.6.7 rejects the line; InfluxDB 3's field_key takes `,` as a plain character, so `,g` is a field",
    influxdb1: { statuses: [400], stored: [], bodies: [/invalid field format/] },
    influxdb3: { statuses: [204], stored: [point("m", {}, { f: float(1), ",g": float(2) }, 1n)] },
  },
  {
    name: "precision=us, which v1 does not spell",
    precision: "us",
    writes: ["m f=1 1"],
    why: "1.6.7 treats an unknown precision as ns; InfluxDB 3's v1 /write takes only n, ns, u, ms, s (wire reference: precision spellings)",
    influxdb1: { statuses: [204], stored: [point("m", {}, { f: float(1) }, 1n)] },
    influxdb3: { statuses: [400], stored: [] },
  },
];

// InfluxDB 3's own endpoint writes partially by default: from the same batch it must keep exactly what 1.6.7
// keeps, and name each rejected line as the wire reference says (1-based over non-blank, non-comment lines,
// `original_line` cut to 20 bytes). `before` is written first, in its own request.
// prettier-ignore
const PARTIAL: { name: string; before?: string; body: string; rejected: [number, string][] }[] = [
  { name: "a bad line in the middle", body: "m f=1 1\nm f=oops 2\nm f=3 3", rejected: [[2, "m f=oops 2"]] },
  { name: "line numbers skip blank lines and comments", body: "# header\n\nm f=1 1\n\n# note\nm f=oops 2\nm f=3 3", rejected: [[2, "m f=oops 2"]] },
  { name: "original_line is cut to 20 bytes", body: "m f=1 1\nmeasurement_with_a_long_name f=oops 2", rejected: [[2, "measurement_with_a_l"]] },
  { name: "several bad lines", body: "m f=1 1\nbad\nm f=2 2\nm f= 3", rejected: [[2, "bad"], [4, "m f= 3"]] },
  { name: "a type conflict with a stored column", before: "m f=1 1", body: "m f=2 2\nm f=3i 3\nm f=4 4", rejected: [[2, "m f=3i 3"]] },
];

describe("line protocol conformance: test server vs InfluxDB 1.6.7 over v1 /write", () => {
  const influxdb1 = inject("influxdb1Url");
  let server: InfluxDB3TestServer;
  let dbCounter = 0;

  beforeAll(async () => {
    server = await startInfluxDB3Server();
  });
  afterAll(async () => {
    await server.close();
  });

  type Side = { statuses: number[]; bodies: string[]; points: StoredPoint[] };

  /**
   * Writes each body to a fresh database on both servers; the test server gets them on `v3Path(db)` (v1
   * `/write` unless told otherwise). Returns statuses, bodies and the sorted points of each side.
   */
  async function writeBoth(
    writes: string[],
    precision: string,
    v3Path: (db: string) => string = (db) => `/write?db=${db}&precision=${precision}`,
  ): Promise<{ influx1: Side; v3: Side }> {
    const db = `conformance_${++dbCounter}`;
    await createInfluxDB1Database(influxdb1, db);
    server.reset();
    const influx1: Side = { statuses: [], bodies: [], points: [] };
    const v3: Side = { statuses: [], bodies: [], points: [] };
    for (const body of writes) {
      const a = await writeInfluxDB1(influxdb1, db, body, precision);
      influx1.statuses.push(a.status);
      influx1.bodies.push(a.body);
      const b = await fetch(`${server.url}${v3Path(db)}`, { method: "POST", body });
      v3.statuses.push(b.status);
      v3.bodies.push(await b.text());
    }
    influx1.points = sortStoredPoints(await readInfluxDB1Points(influxdb1, db));
    v3.points = sortStoredPoints(server.points(db));
    return { influx1, v3 };
  }

  describe("both store the same", () => {
    for (const c of AGREE) {
      const test = c.serverBug === undefined || SHOW_BUGS ? it : it.fails;
      const title = c.serverBug === undefined ? c.name : `${c.name} [KNOWN TEST-SERVER BUG: ${c.serverBug}]`;
      test(title, async () => {
        const before = BigInt(Date.now()) * 1_000_000n;
        const { influx1, v3 } = await writeBoth(c.writes, c.precision ?? "n");
        const after = BigInt(Date.now() + 1) * 1_000_000n;
        if (c.serverTime === true) {
          for (const p of [...influx1.points, ...v3.points]) {
            expect(p.timeNs >= before - 1_000_000_000n && p.timeNs <= after + 1_000_000_000n).toBe(true);
            p.timeNs = 0n;
          }
        }
        expect(influx1.points, "InfluxDB 1.6.7 stored an unexpected number of points").toHaveLength(c.stored);
        expect(v3.points).toEqual(influx1.points);
        expect(v3.statuses.map((s) => s === 204)).toEqual(influx1.statuses.map((s) => s === 204));
      });
    }
  });

  describe("where InfluxDB 3 and 1.6.7 differ, each does what it is documented to do", () => {
    for (const c of DIFFER) {
      const test = c.serverBug === undefined || SHOW_BUGS ? it : it.fails;
      test(`${c.name}: ${c.why}`, async () => {
        const { influx1, v3 } = await writeBoth(c.writes, c.precision ?? "n");
        expect(influx1.statuses).toEqual(c.influxdb1.statuses);
        expect(influx1.points).toEqual(sortStoredPoints(c.influxdb1.stored));
        c.influxdb1.bodies?.forEach((pattern, i) => pattern && expect(influx1.bodies[i]).toMatch(pattern));
        expect(v3.statuses).toEqual(c.influxdb3.statuses);
        expect(v3.points).toEqual(sortStoredPoints(c.influxdb3.stored));
        c.influxdb3.bodies?.forEach((pattern, i) => pattern && expect(v3.bodies[i]).toMatch(pattern));
      });
    }
  });

  describe("/api/v3/write_lp keeps the good lines of a batch, as 1.6.7 does", () => {
    for (const c of PARTIAL) {
      it(c.name, async () => {
        const writes = c.before === undefined ? [c.body] : [c.before, c.body];
        const { influx1, v3 } = await writeBoth(
          writes,
          "n",
          (db) => `/api/v3/write_lp?db=${db}&precision=nanosecond`,
        );
        expect(influx1.points.length).toBeGreaterThan(0);
        expect(v3.points).toEqual(influx1.points);
        expect(influx1.statuses.at(-1)).toBe(400);
        expect(v3.statuses.at(-1)).toBe(400);
        const answer = JSON.parse(v3.bodies.at(-1) ?? "") as {
          error: string;
          data: { line_number: number; original_line: string; error_message: string }[];
        };
        expect(answer.error).toBe("partial write of line protocol occurred");
        expect(answer.data.map((d) => [d.line_number, d.original_line])).toEqual(c.rejected);
      });
    }
  });
});
