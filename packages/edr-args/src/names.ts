import type { IssueList } from "./errors.js";
import { showValue } from "./errors.js";

/**
 * The mini-languages of `tables`, `excluded_fields`, `tables_rename` and `field_renames`.
 *
 * A name may hold any character line protocol can carry except the separators of its own argument's
 * mini-language: `tables=a:b` names the table `a:b`, `tables_rename=cpu:cpu@edge` renames `cpu` to `cpu@edge`.
 * (Commas never reach here: they separate the trigger arguments themselves.) Names are taken exactly as
 * written, spaces included; they are never empty and never hold a line break.
 */

/** Field or tag names InfluxDB 3 refuses (`time` is the timestamp column). */
export const RESERVED_FIELD_NAMES: ReadonlySet<string> = new Set(["time", "__chunk_order"]);

/** Checks a name; adds an issue and returns false if it is empty or holds a line break. */
function checkName(argument: string, kind: string, name: string, whole: string, issues: IssueList): boolean {
  if (name === "") {
    issues.add(argument, `no empty ${kind} name (look for doubled or trailing separators)`, whole);
    return false;
  }
  if (/[\r\n]/.test(name)) {
    issues.add(argument, `${kind} names without line breaks`, whole);
    return false;
  }
  return true;
}

function checkField(
  argument: string,
  table: string,
  field: string,
  whole: string,
  issues: IssueList,
): boolean {
  if (!checkName(argument, "field", field, whole, issues)) return false;
  if (RESERVED_FIELD_NAMES.has(field)) {
    issues.addNote(
      argument,
      `${showValue(field)} in table ${showValue(table)} is reserved by InfluxDB (it is the timestamp column or internal)`,
      "a field or tag name other than time and __chunk_order",
    );
    return false;
  }
  return true;
}

function once(
  argument: string,
  seen: Set<string>,
  name: string,
  what: string,
  issues: IssueList,
  of = "",
): boolean {
  if (seen.has(name)) {
    issues.addNote(argument, `${what} ${showValue(name)}${of} is listed more than once`, `each ${what} once`);
    return false;
  }
  seen.add(name);
  return true;
}

/** `tables=a.b.c`: the tables to replicate, in order. */
export function readTables(argument: string, value: string, issues: IssueList): Set<string> | undefined {
  const tables = new Set<string>();
  let ok = true;
  for (const name of value.split(".")) {
    if (!checkName(argument, "table", name, value, issues)) return undefined;
    ok = once(argument, tables, name, "table", issues) && ok;
  }
  return ok ? tables : undefined;
}

/** Splits `table:rest` on the first `:`; adds an issue and returns undefined when there is none. */
function splitTable(argument: string, segment: string, format: string, whole: string, issues: IssueList) {
  if (segment === "") {
    issues.add(argument, `${format} (no empty part between ".")`, whole);
    return undefined;
  }
  const colon = segment.indexOf(":");
  if (colon < 0) {
    issues.add(argument, `${format} (a ":" after the table name in ${showValue(segment)})`, whole);
    return undefined;
  }
  const table = segment.slice(0, colon);
  if (!checkName(argument, "table", table, whole, issues)) return undefined;
  return { table, rest: segment.slice(colon + 1) };
}

const EXCLUDED_FORMAT = "<table>:<field>@<field>.<table>:<field>";

/**
 * `excluded_fields=t1:f1@f2.t2:f3`: per table, the fields (or tags) to leave out. With `legacyTable` (the
 * scheduled mode's `source_measurement`) and no `:` in the value, the older form `f1.f2` names fields of that table.
 */
export function readExcludedFields(
  argument: string,
  value: string,
  issues: IssueList,
  legacyTable?: string,
): Map<string, Set<string>> | undefined {
  if (legacyTable !== undefined && !value.includes(":")) {
    const fields = new Set<string>();
    let ok = true;
    for (const field of value.split(".")) {
      if (!checkField(argument, legacyTable, field, value, issues)) return undefined;
      ok = once(argument, fields, field, "field", issues, ` of table ${showValue(legacyTable)}`) && ok;
    }
    return ok ? new Map([[legacyTable, fields]]) : undefined;
  }
  const result = new Map<string, Set<string>>();
  let ok = true;
  for (const segment of value.split(".")) {
    const parts = splitTable(argument, segment, EXCLUDED_FORMAT, value, issues);
    if (parts === undefined) return undefined;
    if (result.has(parts.table)) {
      issues.addNote(
        argument,
        `table ${showValue(parts.table)} is listed more than once (join its fields with "@")`,
        "each table once",
      );
      ok = false;
      continue;
    }
    const fields = new Set<string>();
    for (const field of parts.rest.split("@")) {
      if (field.includes(":")) {
        issues.add(argument, `${EXCLUDED_FORMAT} (one ":" per table; a "." between tables)`, value);
        return undefined;
      }
      if (!checkField(argument, parts.table, field, value, issues)) return undefined;
      ok = once(argument, fields, field, "field", issues, ` of table ${showValue(parts.table)}`) && ok;
    }
    result.set(parts.table, fields);
  }
  return ok ? result : undefined;
}

const TABLES_RENAME_FORMAT = "<old>:<new>.<old>:<new>";

/** `tables_rename=old:new.old2:new2`: local table -> remote table. */
export function readTablesRename(
  argument: string,
  value: string,
  issues: IssueList,
): Map<string, string> | undefined {
  const result = new Map<string, string>();
  let ok = true;
  for (const segment of value.split(".")) {
    const parts = splitTable(argument, segment, TABLES_RENAME_FORMAT, value, issues);
    if (parts === undefined) return undefined;
    if (parts.rest.includes(":")) {
      issues.add(argument, `${TABLES_RENAME_FORMAT} (one ":" per rename; a "." between renames)`, value);
      return undefined;
    }
    if (!checkName(argument, "table", parts.rest, value, issues)) return undefined;
    if (result.has(parts.table)) {
      issues.addNote(
        argument,
        `table ${showValue(parts.table)} is renamed more than once`,
        "each table once",
      );
      ok = false;
      continue;
    }
    result.set(parts.table, parts.rest);
  }
  return ok ? result : undefined;
}

const FIELD_RENAMES_FORMAT = "<table>:<old>@<new>$<old>@<new>.<table>:<old>@<new>";

/**
 * `field_renames=t1:a@b$c@d.t2:x@y`: per table, local field (or tag) -> remote name. Also reads the older
 * space-separated form `t1:a@b c@d` (used when a table's renames hold no `$` but more than one `@`; names
 * with spaces need the `$` form). With `legacyTable` (scheduled `source_measurement`) and no `@` in the value,
 * the older form `old:new.old2:new2` renames fields of that table.
 */
export function readFieldRenames(
  argument: string,
  value: string,
  issues: IssueList,
  legacyTable?: string,
): Map<string, Map<string, string>> | undefined {
  if (legacyTable !== undefined && !value.includes("@")) {
    const pairs = value.split(".").map((segment) => segment.replace(":", "@"));
    const renames = readRenamePairs(argument, legacyTable, pairs, value, issues);
    return renames === undefined ? undefined : new Map([[legacyTable, renames]]);
  }
  const result = new Map<string, Map<string, string>>();
  let ok = true;
  for (const segment of value.split(".")) {
    const parts = splitTable(argument, segment, FIELD_RENAMES_FORMAT, value, issues);
    if (parts === undefined) return undefined;
    if (result.has(parts.table)) {
      issues.addNote(
        argument,
        `table ${showValue(parts.table)} is listed more than once (join its renames with "$")`,
        "each table once",
      );
      ok = false;
      continue;
    }
    const rest = parts.rest;
    const atCount = rest.split("@").length - 1;
    const pairs = rest.includes("$") || atCount < 2 ? rest.split("$") : rest.trim().split(/\s+/);
    const renames = readRenamePairs(argument, parts.table, pairs, value, issues);
    if (renames === undefined) return undefined;
    result.set(parts.table, renames);
  }
  return ok ? result : undefined;
}

function readRenamePairs(
  argument: string,
  table: string,
  pairs: readonly string[],
  whole: string,
  issues: IssueList,
): Map<string, string> | undefined {
  const renames = new Map<string, string>();
  const targets = new Map<string, string>();
  let ok = true;
  for (const pair of pairs) {
    const halves = pair.split("@");
    if (halves.length !== 2 || halves.some((name) => name.includes(":"))) {
      issues.add(argument, `${FIELD_RENAMES_FORMAT} (${showValue(pair)} is not <old>@<new>)`, whole);
      return undefined;
    }
    const [from = "", to = ""] = halves;
    if (
      !checkField(argument, table, from, whole, issues) ||
      !checkField(argument, table, to, whole, issues)
    ) {
      return undefined;
    }
    if (renames.has(from)) {
      issues.addNote(
        argument,
        `field ${showValue(from)} of table ${showValue(table)} is renamed more than once`,
        "each field once",
      );
      ok = false;
      continue;
    }
    const other = targets.get(to);
    if (other !== undefined) {
      issues.addNote(
        argument,
        `fields ${showValue(other)} and ${showValue(from)} of table ${showValue(table)} are both renamed to ${showValue(to)} (one would overwrite the other)`,
        "distinct new names within a table",
      );
      ok = false;
      continue;
    }
    renames.set(from, to);
    targets.set(to, from);
  }
  return ok ? renames : undefined;
}
