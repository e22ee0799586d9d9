import type { StoredField, StoredPoint } from "../stored-point.js";
import { segmentPoints, type Segment } from "./segment.js";

/** A column's type in a table's schema. */
export type ColumnType = "tag" | StoredField["type"];

/** The schema limits of InfluxDB 3 Core; going over them is a 422, not a 400. */
export const CORE_LIMITS = { databases: 5, tablesPerDatabase: 2000, columnsPerTable: 500 } as const;

interface Table {
  /** Column name -> type; `time` is implicit. Insertion order is creation order. */
  columns: Map<string, ColumnType>;
}

interface Database {
  tables: Map<string, Table>;
  /** series key + time -> point, in first-write order across all tables. */
  points: Map<string, StoredPoint>;
  /** Writes not yet turned into `points`, oldest first. */
  segments: Segment[];
}

/** Names no tag or field may take: the time column and IOx's internal chunk order. */
const RESERVED = new Set(["time", "__chunk_order"]);

/** The in-memory catalog and data of the test server. */
export class Storage {
  private readonly databases = new Map<string, Database>();
  /**
   * Changes whenever a database, table or column is created or all are forgotten: everything a write's
   * check depends on. A check made earlier (before the WAL delay) holds while it is unchanged.
   */
  schemaVersion = 0;

  hasDatabase(db: string): boolean {
    return this.databases.has(db);
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  /** Why `db` cannot be created (the Core limit), or undefined when it exists or may be created. */
  databaseLimitError(db: string): string | undefined {
    if (this.databases.has(db) || this.databases.size < CORE_LIMITS.databases) return undefined;
    return `adding database "${db}" would exceed the limit of ${CORE_LIMITS.databases} databases`;
  }

  /** Creates an empty database; false when it exists already. Call `databaseLimitError` first. */
  createDatabase(db: string): boolean {
    if (this.databases.has(db)) return false;
    this.databases.set(db, { tables: new Map(), points: new Map(), segments: [] });
    this.schemaVersion++;
    return true;
  }

  /** The columns of a table (without `time`), or undefined when it does not exist. */
  columns(db: string, table: string): ReadonlyMap<string, ColumnType> | undefined {
    return this.databases.get(db)?.tables.get(table)?.columns;
  }

  tableNames(db: string): string[] {
    return [...(this.databases.get(db)?.tables.keys() ?? [])];
  }

  /**
   * Checks a line's columns against the schema as it would be after the lines before it in the same batch,
   * without changing what is stored: `pending` carries the columns those earlier lines would create, and this
   * line's new ones are added to it when it passes. Gives why the line is refused, or undefined.
   */
  checkColumns(
    db: string,
    measurement: string,
    tagKeys: readonly string[],
    fieldKeys: readonly string[],
    fieldTypes: readonly StoredField["type"][],
    pending: PendingSchema,
  ): { error: string; limit: boolean } | undefined {
    const existing = this.databases.get(db)?.tables;
    let table = pending.get(measurement);
    if (table === undefined) {
      const stored = existing?.get(measurement)?.columns;
      if (stored === undefined) {
        const tableCount =
          (existing?.size ?? 0) + [...pending.keys()].filter((t) => !existing?.has(t)).length;
        if (tableCount >= CORE_LIMITS.tablesPerDatabase) {
          return {
            error: `adding table "${measurement}" would exceed the limit of ${CORE_LIMITS.tablesPerDatabase} tables`,
            limit: true,
          };
        }
      }
      table = new Map(stored);
    }
    const added: [string, ColumnType][] = [];
    const use = (name: string, type: ColumnType): string | undefined => {
      if (RESERVED.has(name)) return `column name "${name}" is reserved and cannot be a tag or field`;
      const have = table.get(name);
      if (have === undefined) {
        added.push([name, type]);
      } else if (have !== type) {
        return `invalid column type for column "${name}": expected ${describe(have)}, got ${describe(type)}`;
      }
      return undefined;
    };
    for (const key of tagKeys) {
      const error = use(key, "tag");
      if (error !== undefined) return { error, limit: false };
    }
    for (let i = 0; i < fieldKeys.length; i++) {
      const error = use(fieldKeys[i]!, fieldTypes[i]!);
      if (error !== undefined) return { error, limit: false };
    }
    // +1: the time column counts towards the limit.
    if (added.length > 0 && table.size + added.length + 1 > CORE_LIMITS.columnsPerTable) {
      return {
        error: `adding ${added.length} column(s) to table "${measurement}" would exceed the limit of ${CORE_LIMITS.columnsPerTable} columns`,
        limit: true,
      };
    }
    for (const [name, type] of added) table.set(name, type);
    pending.set(measurement, table);
    return undefined;
  }

  /**
   * Stores a checked batch: creates the database and the columns it needs now, and keeps its lines as text
   * (see `Segment`) until points are asked for.
   */
  commit(db: string, pending: PendingSchema, segment: Segment): void {
    let database = this.databases.get(db);
    if (database === undefined) {
      database = { tables: new Map(), points: new Map(), segments: [] };
      this.databases.set(db, database);
      this.schemaVersion++;
    }
    for (const [name, columns] of pending) {
      const table = database.tables.get(name);
      if (table === undefined) {
        database.tables.set(name, { columns: new Map(columns) });
        this.schemaVersion++;
        continue;
      }
      for (const [column, type] of columns) {
        if (table.columns.has(column)) continue;
        table.columns.set(column, type);
        this.schemaVersion++;
      }
    }
    if (segment.bounds.length > 0) database.segments.push(segment);
  }

  /** Points of a database (optionally one table), in the order they were first written. */
  points(db: string, table?: string): StoredPoint[] {
    const database = this.databases.get(db);
    if (database === undefined) return [];
    materialize(database);
    const out: StoredPoint[] = [];
    for (const p of database.points.values()) if (table === undefined || p.measurement === table) out.push(p);
    return out;
  }

  clear(): void {
    this.databases.clear();
    this.schemaVersion++;
  }
}

/** Table -> columns as a batch being checked would leave them. */
export type PendingSchema = Map<string, Map<string, ColumnType>>;

function describe(type: ColumnType): string {
  return type === "tag" ? "tag" : `${type} field`;
}

/** Turns the pending writes of a database into points, in write order: same series and time merge. */
function materialize(database: Database): void {
  for (const segment of database.segments) {
    for (const point of segmentPoints(segment)) {
      const key = seriesKey(point);
      const earlier = database.points.get(key);
      if (earlier === undefined) database.points.set(key, point);
      else earlier.fields = { ...earlier.fields, ...point.fields };
    }
  }
  database.segments.length = 0;
}

function seriesKey(point: StoredPoint): string {
  const tags = Object.keys(point.tags)
    .sort()
    .map((k) => `${k}\u0000${point.tags[k]}`)
    .join("\u0001");
  return `${point.measurement}\u0002${tags}\u0002${point.timeNs}`;
}
