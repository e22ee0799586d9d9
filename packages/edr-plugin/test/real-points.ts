// Seeded points with hostile names and values for the real-server end-to-end test, and their line
// protocol as InfluxDB 1.6.7 reads it. Written here, not with edr-transform: the test's expectations must
// not come from the code under test.
import { mulberry32, type StoredField, type StoredPoint } from "edr-testkit";

/** A tag of a table: its key, the values it takes, and how often a point carries it. */
export interface TagSpec {
  key: string;
  values: readonly string[];
  /** Probability that a point has this tag (a point without it belongs to another series). */
  presence: number;
}

/** A field of a table, with its type and how often a point carries it. */
export interface FieldSpec {
  key: string;
  type: "float" | "integer" | "string" | "boolean";
  presence: number;
}

/** One measurement to generate. */
export interface TableSpec {
  name: string;
  /** Points of this table, edge points included. */
  count: number;
  tags: readonly TagSpec[];
  fields: readonly FieldSpec[];
  /**
   * Fields of which a point sometimes holds only one (probability `only.chance`): a point left with no
   * field once they are excluded is not replicated.
   */
  only?: { keys: readonly string[]; chance: number };
}

/** Where the points go in time: `[startNs, endNs)` uniformly, plus `edges` (each table gets every one). */
export interface TimeLayout {
  startNs: bigint;
  endNs: bigint;
  edges: readonly bigint[];
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Integers worth having: the int64 bounds, around 2^53 (where a JS number stops being exact), signs. */
const SPECIAL_INTEGERS = [
  INT64_MAX,
  INT64_MIN,
  INT64_MAX - 1n,
  INT64_MIN + 1n,
  0n,
  1n,
  -1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  4_294_967_296n,
];

/** Floats worth having: whole floats (which `/query` prints as integers), -0, the extremes, inexact decimals. */
const SPECIAL_FLOATS = [
  100,
  0,
  -0,
  1,
  -1,
  2 ** 53,
  2 ** 53 + 2,
  1e21,
  -1e21,
  123456789012345680000,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  1.7976931348623157e308,
  -1.7976931348623157e308,
  0.1,
  0.1 + 0.2,
  1 / 3,
  -2.5e-7,
];

/** Pieces of string values: quotes, backslashes (a trailing one too), raw newlines, CR, tab, unicode, empty. */
const STRING_PIECES = [
  "plain",
  'say "hi"',
  '"',
  "\\",
  "c:\\dir\\",
  "back\\slash \\n is not a newline",
  "line1\nline2",
  "\n",
  "cr\r\nlf",
  "tab\there",
  "ünï 漢字 😀",
  "",
  "=,; {}[] 'single'",
  '\\"',
  "ends with backslash\\",
];

/** Boolean spellings InfluxDB reads (the stored value is what counts). */
const TRUE_SPELLINGS = ["t", "T", "true", "True", "TRUE"];
const FALSE_SPELLINGS = ["f", "F", "false", "False", "FALSE"];

/** A seeded random source with the draws the generator needs. */
export class Random {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform in [0, 1) with 32 random bits. */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Uniform in [0, 2^53). */
  bits53(): bigint {
    return (BigInt(this.int(2 ** 21)) << 32n) | BigInt(this.int(2 ** 32));
  }

  /** Any int64, uniformly. */
  int64(): bigint {
    return BigInt.asIntN(64, (BigInt(this.int(2 ** 32)) << 32n) | BigInt(this.int(2 ** 32)));
  }
}

function randomFloat(random: Random): number {
  const kind = random.int(10);
  if (kind === 0) return random.pick(SPECIAL_FLOATS);
  // Whole floats: 100.0 must reach the remote as a float, not as 100i.
  if (kind <= 3) return Math.round((random.float() - 0.5) * 2e6);
  // A full 53-bit mantissa at a random scale.
  const mantissa = Number(random.bits53()) / 2 ** 53;
  const scaled = (mantissa - 0.5) * 10 ** (random.int(61) - 30);
  return kind === 4 ? scaled * 1e250 : scaled;
}

function randomInteger(random: Random): bigint {
  const kind = random.int(10);
  if (kind === 0) return random.pick(SPECIAL_INTEGERS);
  if (kind <= 4) return BigInt(random.int(2_000_001) - 1_000_000);
  return random.int64();
}

function randomString(random: Random): string {
  if (random.chance(0.002)) return "long ".repeat(2000) + random.pick(STRING_PIECES);
  const pieces = 1 + random.int(3);
  let out = "";
  for (let i = 0; i < pieces; i++) out += random.pick(STRING_PIECES);
  return out;
}

function randomField(random: Random, type: FieldSpec["type"]): StoredField {
  switch (type) {
    case "float":
      return { type, value: randomFloat(random) };
    case "integer":
      return { type, value: randomInteger(random) };
    case "string":
      return { type, value: randomString(random) };
    case "boolean":
      return { type, value: random.chance(0.5) };
  }
}

/**
 * Throws for a name InfluxDB 1.6.7 and InfluxDB 3 would not both read back as written from escaped line
 * protocol: empty, a newline or tab, a backslash at the end or before a backslash, `,`, `=`, space or `"`
 * (1.6.7 has no `\\` escape and decodes `\=` and `\"` where InfluxDB 3 does not).
 */
export function checkPortableName(name: string): void {
  if (name === "" || /[\n\t]/.test(name) || /\\$/.test(name) || /\\[\\,= "]/.test(name)) {
    throw new Error(`the generator's name ${JSON.stringify(name)} is not portable between 1.6.7 and 3`);
  }
}

/** Every point of every table, deterministic for a seed; within a table no two points share a timestamp. */
export function generatePoints(
  seed: number,
  tables: readonly TableSpec[],
  layout: TimeLayout,
): StoredPoint[] {
  const random = new Random(seed);
  const span = layout.endNs - layout.startNs;
  const points: StoredPoint[] = [];
  for (const table of tables) {
    checkPortableName(table.name);
    for (const tag of table.tags) [tag.key, ...tag.values].forEach(checkPortableName);
    for (const field of table.fields) checkPortableName(field.key);
    const used = new Set<bigint>();
    const times: bigint[] = [];
    for (const edge of layout.edges) {
      if (!used.has(edge)) times.push(edge);
      used.add(edge);
    }
    while (times.length < table.count) {
      const t = layout.startNs + (random.bits53() % span);
      if (used.has(t)) continue;
      used.add(t);
      times.push(t);
    }
    for (const timeNs of times) {
      const tags: Record<string, string> = {};
      for (const tag of table.tags) {
        if (random.chance(tag.presence)) define(tags, tag.key, random.pick(tag.values));
      }
      const fields: Record<string, StoredField> = {};
      if (table.only && random.chance(table.only.chance)) {
        const key = random.pick(table.only.keys);
        define(fields, key, randomField(random, table.fields.find((f) => f.key === key)!.type));
      } else {
        for (const field of table.fields) {
          if (random.chance(field.presence)) define(fields, field.key, randomField(random, field.type));
        }
        if (Object.keys(fields).length === 0) {
          const field = random.pick(table.fields);
          define(fields, field.key, randomField(random, field.type));
        }
      }
      points.push({ measurement: table.name, tags, fields, timeNs });
    }
  }
  return points;
}

/** `record[name] = value`, also for `__proto__` (a valid name, which an assignment would take as the prototype). */
export function define<T>(record: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}

const escapeMeasurement = (name: string): string => name.replace(/[, ]/g, (c) => `\\${c}`);
const escapeKey = (name: string): string => name.replace(/[,= ]/g, (c) => `\\${c}`);
const quoteString = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** A float in one of the spellings line protocol allows for it (`100`, `100.0`, `1e2`); -0 kept. */
function floatText(value: number, random: Random): string {
  if (Object.is(value, -0)) return "-0";
  const text = String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e21) {
    const spelling = random.int(3);
    if (spelling === 1) return `${text}.0`;
    if (spelling === 2 && value !== 0) return value.toExponential();
  }
  return text;
}

function fieldText(field: StoredField, random: Random): string {
  switch (field.type) {
    case "float":
      return floatText(field.value, random);
    case "integer":
      return `${field.value}i`;
    case "unsigned":
      throw new Error("InfluxDB 1.6.7 has no unsigned integers");
    case "string":
      return quoteString(field.value);
    case "boolean":
      return random.pick(field.value ? TRUE_SPELLINGS : FALSE_SPELLINGS);
  }
}

/** The point as one line of line protocol for InfluxDB 1.6.7 (ns precision), spellings drawn from `random`. */
export function toLineProtocol(point: StoredPoint, random: Random): string {
  let line = escapeMeasurement(point.measurement);
  for (const [key, value] of Object.entries(point.tags)) line += `,${escapeKey(key)}=${escapeKey(value)}`;
  line += " ";
  line += Object.entries(point.fields)
    .map(([key, field]) => `${escapeKey(key)}=${fieldText(field, random)}`)
    .join(",");
  return `${line} ${point.timeNs}`;
}

/**
 * One exact text per point (field values with their type, -0 apart from 0, integers as decimal), so two
 * sets of points compare in one pass and a difference can be named briefly. Key order does not count.
 */
export function pointKey(point: StoredPoint): string {
  const byName = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);
  const tags = Object.entries(point.tags).sort(byName);
  const fields = Object.entries(point.fields)
    .sort(byName)
    .map(([key, f]) => [key, f.type, f.type === "float" && Object.is(f.value, -0) ? "-0" : String(f.value)]);
  return JSON.stringify([point.measurement, tags, fields, String(point.timeNs)]);
}

/**
 * Undefined when `actual` and `expected` hold the same points (as {@link pointKey} sees them, duplicates
 * counted); otherwise how many are missing and unexpected, with the first few of each.
 */
export function describeDifference(
  actual: readonly StoredPoint[],
  expected: readonly StoredPoint[],
): string | undefined {
  const counts = new Map<string, number>();
  for (const p of expected) {
    const key = pointKey(p);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const unexpected: string[] = [];
  for (const p of actual) {
    const key = pointKey(p);
    const n = counts.get(key);
    if (n === undefined || n === 0) unexpected.push(key);
    else counts.set(key, n - 1);
  }
  const missing = [...counts].flatMap(([key, n]) => Array<string>(n).fill(key));
  if (missing.length === 0 && unexpected.length === 0) return undefined;
  const show = (keys: string[]): string =>
    keys
      .slice(0, 5)
      .map((k) => `\n    ${k.length > 400 ? `${k.slice(0, 400)}…` : k}`)
      .join("");
  return (
    `${actual.length} points, ${expected.length} expected: ` +
    `${missing.length} missing${show(missing)}\n  ${unexpected.length} unexpected${show(unexpected)}`
  );
}
