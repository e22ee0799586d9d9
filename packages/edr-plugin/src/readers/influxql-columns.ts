import type { ColumnInfo } from "edr-transform";
import { quoteInfluxQLIdentifier } from "./quoting.js";

/** InfluxQL field types (`SHOW FIELD KEYS`) as the SQL type names edr-transform's row converter reads. */
const FIELD_DATA_TYPES: Readonly<Record<string, string>> = {
  float: "Float64",
  integer: "Int64",
  unsigned: "UInt64",
  string: "Utf8",
  boolean: "Boolean",
};
const TAG_DATA_TYPE = "Dictionary(Int32, Utf8)";
const TIME_DATA_TYPE = "Timestamp(ns)";

/** A column of a measurement as the InfluxQL reader selects and names it. */
export interface InfluxQLColumn {
  /** The tag or field key in the database. */
  key: string;
  kind: "tag" | "field";
  /** The key in rows and in `ColumnInfo`: the key itself, except for a tag that shares its key with a field. */
  name: string;
  /** The SQL type name (`Float64`, `Dictionary(Int32, Utf8)`, …). */
  dataType: string;
}

/**
 * The columns of a measurement from `SHOW FIELD KEYS` (`[key, type]`) and `SHOW TAG KEYS`, sorted by name.
 *
 * InfluxDB 1.x lets a tag and a field share a key; InfluxDB 3 cannot store both, and one row cannot hold
 * two values under one name. The field keeps the key and the tag is named `<key>_1` (`_2`, … if that is
 * taken too), which is also what 1.x's own `SELECT *` calls it: the tag is kept, under a new name, rather
 * than dropped (dropping it would merge its series). A field listed with two types (1.x keeps types per
 * shard) cannot be typed and throws, as does an unknown type. A key named `time` is left out: no column
 * of that name can be selected beside the time.
 */
export function planInfluxQLColumns(
  fields: readonly (readonly [key: string, type: string])[],
  tags: readonly string[],
): InfluxQLColumn[] {
  const fieldTypes = new Map<string, string>();
  for (const [key, type] of fields) {
    const dataType = FIELD_DATA_TYPES[type];
    if (dataType === undefined || !Object.hasOwn(FIELD_DATA_TYPES, type)) {
      throw new Error(
        `field ${JSON.stringify(key)} has type ${JSON.stringify(type)}, expected float, integer, unsigned, string or boolean`,
      );
    }
    const known = fieldTypes.get(key);
    if (known !== undefined && known !== dataType) {
      throw new Error(
        `field ${JSON.stringify(key)} has two types (${known} and ${dataType}, in different shards): its values cannot be typed`,
      );
    }
    fieldTypes.set(key, dataType);
  }
  const columns: InfluxQLColumn[] = [];
  const taken = new Set<string>([...fieldTypes.keys(), ...tags]);
  for (const [key, dataType] of fieldTypes) {
    if (key !== "time") columns.push({ key, kind: "field", name: key, dataType });
  }
  for (const key of new Set(tags)) {
    if (key === "time") continue;
    let name = key;
    if (fieldTypes.has(key)) {
      let n = 1;
      while (taken.has(`${key}_${n}`)) n++;
      name = `${key}_${n}`;
      taken.add(name);
    }
    columns.push({ key, kind: "tag", name, dataType: TAG_DATA_TYPE });
  }
  return columns.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The columns as `information_schema.columns` would list them, `time` first. */
export function toColumnInfo(table: string, columns: readonly InfluxQLColumn[]): ColumnInfo[] {
  return [
    { table_name: table, column_name: "time", data_type: TIME_DATA_TYPE },
    ...columns.map((c) => ({ table_name: table, column_name: c.name, data_type: c.dataType })),
  ];
}

/**
 * `SELECT "f"::field, "t"::tag, … FROM "m" WHERE time >= <start> AND time < <end> ORDER BY time ASC`:
 * every column named with its kind, so a tag and a field of one key are both selected and the answer's
 * columns are these, in this order, after `time`. Bounds are integers, which InfluxQL reads as ns.
 */
export function selectRowsQuery(
  table: string,
  columns: readonly InfluxQLColumn[],
  startNs: bigint,
  endNs: bigint,
): string {
  const list = columns.map((c) => `${quoteInfluxQLIdentifier(c.key)}::${c.kind}`).join(", ");
  return (
    `SELECT ${list} FROM ${quoteInfluxQLIdentifier(table)} ` +
    `WHERE time >= ${startNs} AND time < ${endNs} ORDER BY time ASC`
  );
}
