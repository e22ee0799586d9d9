import type { DownsampleOptions } from "./downsample.js";
import { TransformError } from "./errors.js";
import { escapeName } from "./escape.js";

/**
 * The replication rules, as edr-args produces them (plain Maps and Sets). Every rule names tables by their
 * name in the local instance, as the seed does.
 */
export interface ReplicationRules {
  /** Tables to replicate; absent or empty means all. */
  tables?: readonly string[] | ReadonlySet<string> | undefined;
  /** Per table, the columns not to replicate (fields, and tags of that name too). */
  excludedFields?: ReadonlyMap<string, ReadonlySet<string> | readonly string[]> | undefined;
  /** Table renames: local name to remote name. */
  tablesRename?: ReadonlyMap<string, string> | undefined;
  /** Per table, column renames (fields and tags, as the seed does): local name to remote name. */
  fieldRenames?: ReadonlyMap<string, ReadonlyMap<string, string>> | undefined;
  /**
   * Downsampling (edr-args' `downsampling`): bucket width in ms, epoch-aligned, and the aggregation per local
   * table and field. Only `createTransform` reads it, between exclusion and renames; absent means none.
   */
  downsampling?: DownsampleOptions | undefined;
}

/** What a rule does to one table. `keys` maps a tag or field name to its new name, or null to drop it. */
export interface TableRule {
  readonly drop: boolean;
  /** New table name, or undefined to keep it. */
  readonly rename: string | undefined;
  readonly keys: ReadonlyMap<string, string | null>;
}

/** Compiled once: per-table rules, plus what happens to the tables no rule names. */
export interface RuleSet {
  readonly tables: ReadonlyMap<string, TableRule>;
  /** True when a table filter is in force: tables it does not list are dropped. */
  readonly dropOthers: boolean;
}

const KEEP: TableRule = { drop: false, rename: undefined, keys: new Map() };
const DROP: TableRule = { drop: true, rename: undefined, keys: new Map() };

function configError(message: string): TransformError {
  return new TransformError("INVALID_ARGUMENT", message);
}

function checkName(what: string, name: unknown, context: "measurement" | "field key"): string {
  if (typeof name !== "string" || name === "") {
    throw configError(`${what}: expected a non-empty name, got ${JSON.stringify(name)}`);
  }
  try {
    escapeName(name, context);
  } catch (error) {
    throw new TransformError("INVALID_ARGUMENT", `${what}: ${(error as Error).message}`, { cause: error });
  }
  return name;
}

/** The rules of a table filter: listed tables kept as they are, all others dropped. */
export function filterRules(rules: ReplicationRules): RuleSet {
  const list = rules.tables === undefined ? [] : [...rules.tables];
  if (list.length === 0) return { tables: new Map(), dropOthers: false };
  const tables = new Map<string, TableRule>();
  for (const table of list) tables.set(checkName("tables", table, "measurement"), KEEP);
  return { tables, dropOthers: true };
}

/** The rules of field exclusion. */
export function excludeRules(rules: ReplicationRules): RuleSet {
  const tables = new Map<string, TableRule>();
  for (const [table, names] of rules.excludedFields ?? []) {
    checkName("excludedFields", table, "measurement");
    const keys = new Map<string, string | null>();
    for (const name of names)
      keys.set(checkName(`excludedFields of ${JSON.stringify(table)}`, name, "field key"), null);
    if (keys.size > 0) tables.set(table, { drop: false, rename: undefined, keys });
  }
  return { tables, dropOthers: false };
}

/** The rules of table renames. */
export function renameTableRules(rules: ReplicationRules): RuleSet {
  const tables = new Map<string, TableRule>();
  for (const [from, to] of rules.tablesRename ?? []) {
    checkName("tablesRename", from, "measurement");
    checkName(`tablesRename of ${JSON.stringify(from)}`, to, "measurement");
    if (from !== to) tables.set(from, { drop: false, rename: to, keys: new Map() });
  }
  return { tables, dropOthers: false };
}

/** The rules of column renames (fields and tags). */
export function renameFieldRules(rules: ReplicationRules): RuleSet {
  const tables = new Map<string, TableRule>();
  for (const [table, renames] of rules.fieldRenames ?? []) {
    checkName("fieldRenames", table, "measurement");
    const keys = new Map<string, string | null>();
    for (const [from, to] of renames) {
      const what = `fieldRenames of ${JSON.stringify(table)}`;
      checkName(what, from, "field key");
      checkName(`${what}, ${JSON.stringify(from)}`, to, "field key");
      if (from !== to) keys.set(from, to);
    }
    checkKeyCollisions(table, keys);
    if (keys.size > 0) tables.set(table, { drop: false, rename: undefined, keys });
  }
  return { tables, dropOthers: false };
}

function ruleFor(set: RuleSet, table: string): TableRule {
  return set.tables.get(table) ?? (set.dropOthers ? DROP : KEEP);
}

/** `second` applied after `first`, as one rule. */
function composeRule(first: TableRule, second: TableRule, table: string): TableRule {
  if (first.drop || second.drop) return DROP;
  const keys = new Map<string, string | null>();
  for (const [key, out] of first.keys) {
    if (out === null) keys.set(key, null);
    else {
      const next = second.keys.get(out);
      keys.set(key, next === undefined ? out : next);
    }
  }
  for (const [key, out] of second.keys) {
    if (!first.keys.has(key)) keys.set(key, out);
  }
  for (const [key, out] of keys) if (out === key) keys.delete(key);
  const rename = second.rename ?? first.rename;
  checkKeyCollisions(table, keys);
  return { drop: false, rename: rename === table ? undefined : rename, keys };
}

/**
 * Two names renamed onto one, or a name renamed onto one that stays (neither renamed nor dropped), would
 * make a line carry a tag or field twice: report it when the rules are built, not line by line.
 */
function checkKeyCollisions(table: string, keys: ReadonlyMap<string, string | null>): void {
  const targets = new Map<string, string>();
  for (const [key, out] of keys) {
    if (out === null) continue;
    const other = targets.get(out);
    if (other !== undefined) {
      throw configError(
        `table ${JSON.stringify(table)}: ${JSON.stringify(other)} and ${JSON.stringify(key)} are both renamed to ${JSON.stringify(out)}`,
      );
    }
    targets.set(out, key);
  }
}

/**
 * Checks renames against the columns a table is known to have (e.g. from `information_schema.columns`):
 * a rename onto a column that stays is a collision.
 */
export function checkAgainstColumns(set: RuleSet, table: string, columns: Iterable<string>): void {
  const rule = ruleFor(set, table);
  if (rule.drop || rule.keys.size === 0) return;
  const seen = new Map<string, string>();
  for (const column of columns) {
    const mapped = rule.keys.get(column);
    const out = mapped === undefined ? column : mapped;
    if (out === null) continue;
    const other = seen.get(out);
    if (other !== undefined) {
      throw configError(
        `table ${JSON.stringify(table)}: renaming ${JSON.stringify(other === out ? column : other)} to ${JSON.stringify(out)} collides with the existing column ${JSON.stringify(out)}`,
      );
    }
    seen.set(out, column);
  }
}

/** One rule set that does what `first` then `second` do. */
export function composeRuleSets(first: RuleSet, second: RuleSet): RuleSet {
  const tables = new Map<string, TableRule>();
  for (const [table, rule] of first.tables) {
    const out = rule.drop ? table : (rule.rename ?? table);
    tables.set(table, composeRule(rule, ruleFor(second, out), table));
  }
  for (const [table, rule] of second.tables) {
    if (first.tables.has(table)) continue;
    tables.set(table, first.dropOthers ? DROP : composeRule(KEEP, rule, table));
  }
  return { tables, dropOthers: first.dropOthers || second.dropOthers };
}
