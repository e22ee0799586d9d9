import { readAggregations } from "./aggregations.js";
import type { Mode } from "./arguments.js";
import type { AggregationRules, TransformConfig } from "./config.js";
import { readDuration } from "./duration.js";
import { showValue } from "./errors.js";
import { readExcludedFields, readFieldRenames, readTables, readTablesRename } from "./names.js";
import type { ArgumentValues } from "./read-input.js";

/** Reads tables, exclusions, renames and downsampling, and checks them against each other. */
export function readTransform(values: ArgumentValues, mode: Mode): TransformConfig | undefined {
  const { get, issues } = values;
  const before = issues.size;

  const tablesText = get("tables");
  const sourceMeasurement = mode === "scheduled" ? get("source_measurement") : undefined;
  let tables: Set<string> | undefined;
  if (tablesText !== undefined && sourceMeasurement !== undefined) {
    issues.addNote(
      "source_measurement",
      "conflicts with tables: give one of them (source_measurement is the older name for one table)",
      "either tables or source_measurement",
    );
  } else if (sourceMeasurement !== undefined) {
    if (/[\r\n]/.test(sourceMeasurement))
      issues.add("source_measurement", "a table name without line breaks", sourceMeasurement);
    else tables = new Set([sourceMeasurement]);
  } else if (tablesText !== undefined) {
    tables = readTables("tables", tablesText, issues);
  }
  // The older scheduled forms (`excluded_fields=f1.f2`, `field_renames=old:new`) name fields of the one table.
  const legacyTable = tablesText === undefined ? sourceMeasurement : undefined;

  const excludedText = get("excluded_fields");
  const excludedFields =
    excludedText === undefined
      ? new Map<string, Set<string>>()
      : readExcludedFields("excluded_fields", excludedText, issues, legacyTable);

  const renameText = get("tables_rename");
  const targetTable = get("target_table");
  let tablesRename =
    renameText === undefined
      ? new Map<string, string>()
      : readTablesRename("tables_rename", renameText, issues);
  if (targetTable !== undefined) {
    if (renameText !== undefined) {
      issues.addNote(
        "target_table",
        "conflicts with tables_rename: give one of them (target_table is the older form for one table)",
        "either tables_rename or target_table",
      );
    } else if (tablesText !== undefined && tables === undefined) {
      // tables itself is wrong and already reported: which table target_table renames is unknowable.
    } else if (tables?.size === 1) {
      const [only = ""] = tables;
      tablesRename = new Map([[only, targetTable]]);
    } else if (tablesText !== undefined || sourceMeasurement !== undefined) {
      issues.addNote(
        "target_table",
        `needs exactly one table to rename, but tables lists ${tables?.size ?? 0} (use tables_rename=<old>:<new>.…)`,
        "exactly one table in tables or source_measurement",
      );
    } else {
      issues.addNote(
        "target_table",
        "needs the table it renames: give source_measurement or tables with one name (or use tables_rename=<old>:<new>)",
        "exactly one table in tables or source_measurement",
      );
    }
  }

  const renamesText = get("field_renames");
  const fieldRenames =
    renamesText === undefined
      ? new Map<string, Map<string, string>>()
      : readFieldRenames("field_renames", renamesText, issues, legacyTable);

  const intervalText = get("aggregate_interval");
  let intervalMs: number | undefined;
  if (intervalText !== undefined) {
    const interval = readDuration(intervalText);
    if (interval.ok) intervalMs = interval.ms;
    else issues.add("aggregate_interval", interval.expected, intervalText);
  }
  const aggregationsText = get("aggregations");
  let aggregations: AggregationRules | undefined = { fields: new Map() };
  if (aggregationsText !== undefined) {
    aggregations = readAggregations("aggregations", aggregationsText, issues);
    if (intervalText === undefined) {
      issues.addNote(
        "aggregations",
        "is given without aggregate_interval, so nothing would be downsampled (add aggregate_interval=<duration>)",
        "aggregate_interval alongside",
      );
    }
  }

  if (tables !== undefined) {
    const listed = tables;
    const notListed = (argument: string, keys: Iterable<string>) => {
      for (const table of keys) {
        if (!listed.has(table)) {
          issues.addNote(
            argument,
            `names table ${showValue(table)}, which is not replicated (tables: ${showValue([...listed].join("."))}); the rule would never apply`,
            "tables that are replicated",
          );
        }
      }
    };
    if (excludedFields !== undefined) notListed("excluded_fields", excludedFields.keys());
    if (tablesRename !== undefined && targetTable === undefined)
      notListed("tables_rename", tablesRename.keys());
    if (fieldRenames !== undefined) notListed("field_renames", fieldRenames.keys());
    if (aggregations !== undefined) notListed("aggregations", aggregations.fields.keys());
  }

  if (excludedFields !== undefined) {
    const excludedToo = (argument: string, what: string, perTable: Map<string, Map<string, unknown>>) => {
      for (const [table, fields] of perTable) {
        const excluded = excludedFields.get(table);
        for (const field of fields.keys()) {
          if (excluded?.has(field) === true) {
            issues.addNote(
              argument,
              `${what} field ${showValue(field)} of table ${showValue(table)}, which excluded_fields leaves out`,
              "fields that are replicated",
            );
          }
        }
      }
    };
    if (fieldRenames !== undefined) excludedToo("field_renames", "renames", fieldRenames);
    if (aggregations !== undefined) excludedToo("aggregations", "aggregates", aggregations.fields);
  }

  if (
    issues.size > before ||
    excludedFields === undefined ||
    tablesRename === undefined ||
    fieldRenames === undefined ||
    aggregations === undefined
  ) {
    return undefined;
  }
  const transform: TransformConfig =
    tables === undefined
      ? { excludedFields, tablesRename, fieldRenames }
      : { tables, excludedFields, tablesRename, fieldRenames };
  if (intervalMs !== undefined) transform.downsampling = { intervalMs, aggregations };
  return transform;
}
