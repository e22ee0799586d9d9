// The three write endpoints of InfluxDB as a client calls them: which path is which API, which parameter
// names the database, and how each spells its precisions (docs/influxdb3-wire.md).

/** Which write endpoint a request came in on: `/api/v3/write_lp`, `/api/v2/write` or `/write`. */
export type WriteApi = "v3" | "v2" | "v1";

/**
 * The unit of a request's timestamps. `auto` (v3 only) is guessed per line from the magnitude; `m` and `h`
 * (minutes, hours) are InfluxDB 1.x's, for a 1.x local instance (InfluxDB 3 refuses them itself).
 */
export type TimeUnit = "ns" | "us" | "ms" | "s" | "m" | "h" | "auto";

const WRITE_PATHS: ReadonlyMap<string, WriteApi> = new Map([
  ["/api/v3/write_lp", "v3"],
  ["/api/v2/write", "v2"],
  ["/write", "v1"],
]);

const PRECISIONS: Record<WriteApi, ReadonlyMap<string, TimeUnit>> = {
  v3: new Map([
    ["auto", "auto"],
    ["nanosecond", "ns"],
    ["microsecond", "us"],
    ["millisecond", "ms"],
    ["second", "s"],
    ["ns", "ns"],
    ["us", "us"],
    ["ms", "ms"],
    ["s", "s"],
  ]),
  v2: new Map([
    ["ns", "ns"],
    ["us", "us"],
    ["ms", "ms"],
    ["s", "s"],
  ]),
  v1: new Map([
    ["n", "ns"],
    ["ns", "ns"],
    ["u", "us"],
    ["ms", "ms"],
    ["s", "s"],
    ["m", "m"],
    ["h", "h"],
  ]),
};

/** The precision a request without one gets: `auto` on v3, nanoseconds on v2 and v1. */
export const DEFAULT_PRECISION: Record<WriteApi, string> = { v3: "auto", v2: "ns", v1: "ns" };

/** The write API served at `pathname` (exact, without the query), or undefined for any other path. */
export function writeApiOf(pathname: string): WriteApi | undefined {
  return WRITE_PATHS.get(pathname);
}

/** What a write request's query says: the database it writes to and the unit of its timestamps. */
export interface WriteParams {
  /** `db` (v3, v1) or `bucket` (v2); null when absent. */
  database: string | null;
  /** The precision as given (the API's default when absent or empty). */
  precision: string;
  /** The unit it means, or undefined when edr does not know the spelling. */
  unit: TimeUnit | undefined;
}

/** Reads the database and precision parameters of a write request. */
export function readWriteParams(api: WriteApi, query: URLSearchParams): WriteParams {
  const database = query.get(api === "v2" ? "bucket" : "db");
  const given = query.get("precision");
  // An empty precision reads as the default (InfluxDB 1.x does so; InfluxDB 3 refuses it itself).
  const precision = given === null || given === "" ? DEFAULT_PRECISION[api] : given;
  return { database, precision, unit: PRECISIONS[api].get(precision) };
}

/**
 * Whether a write to `database` is a write to the replicated database. On v2 a bucket may also be
 * `db/retention-policy` (InfluxDB 1.8's mapping): writes to it are writes to `db`, never silently not
 * replicated.
 */
export function writesTo(api: WriteApi, database: string | null, replicated: string): boolean {
  if (database === null) return false;
  if (database === replicated) return true;
  return api === "v2" && database.startsWith(`${replicated}/`);
}

/**
 * Why edr refuses a precision it does not know: it could not tell how the local instance reads the
 * timestamps (InfluxDB 1.x takes an unknown one as nanoseconds), so the remote copy could get other times.
 */
export function invalidPrecisionMessage(api: WriteApi, precision: string): string {
  const allowed = [...PRECISIONS[api].keys()].join(", ");
  return `invalid precision "${precision}": expected one of ${allowed}`;
}
