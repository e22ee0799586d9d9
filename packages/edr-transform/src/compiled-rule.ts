// A rule set compiled for the hot paths: each table rule with its new names escaped once and its keys indexed
// for matching in place in a line (line-rewriter.ts) or by name in a point (point-rewriter.ts). Building the
// rules and composing them is rules.ts; this is done once per transform, never per line.
import { escapeName } from "./escape.js";
import type { RuleSet, TableRule } from "./rules.js";
import { ShapeCache } from "./shape-cache.js";

/** One key a table rule renames or drops. */
export interface KeyRule {
  readonly source: string;
  /** New name, or null to drop the key. */
  readonly out: string | null;
  /** New name escaped for a line, or null. */
  readonly escapedOut: string | null;
}

// A compiled table rule: names escaped once, keys bucketed by length so that a key of a line is matched with
// startsWith at its offset, without slicing it out.
export interface CompiledRule {
  readonly table: string;
  readonly drop: boolean;
  readonly keep: boolean;
  /** Escaped new measurement, or undefined. */
  readonly measurement: string | undefined;
  readonly rename: string | undefined;
  readonly keyRules: readonly KeyRule[];
  readonly byLength: readonly (readonly number[] | undefined)[];
  readonly byName: ReadonlyMap<string, number>;
  /** Source key to new key, or null to drop (the point path). */
  readonly names: ReadonlyMap<string, string | null>;
  readonly renamesKeys: boolean;
  /** Escaped new names of the key rules (null: dropped), by key rule index. */
  readonly newNames: readonly (string | null)[];
  /** Shapes of the lines seen. */
  readonly shapes: ShapeCache;
}

/** The compiled rules of one transform. */
export interface CompiledRules {
  /** By table name. */
  readonly tables: ReadonlyMap<string, CompiledRule>;
  /** The rule of every table `tables` does not name: keep it, or drop it when a table filter is in force. */
  readonly other: CompiledRule;
}

function compileRule(table: string, rule: TableRule): CompiledRule {
  const keyRules: KeyRule[] = [];
  const byLength: number[][] = [];
  const byName = new Map<string, number>();
  let renamesKeys = false;
  for (const [source, out] of rule.keys) {
    const index = keyRules.length;
    keyRules.push({ source, out, escapedOut: out === null ? null : escapeName(out, "field key") });
    (byLength[source.length] ??= []).push(index);
    byName.set(source, index);
    if (out !== null) renamesKeys = true;
  }
  return {
    table,
    drop: rule.drop,
    keep: !rule.drop && rule.rename === undefined && rule.keys.size === 0,
    measurement: rule.rename === undefined ? undefined : escapeName(rule.rename, "measurement"),
    rename: rule.rename,
    keyRules,
    byLength,
    byName,
    names: rule.keys,
    renamesKeys,
    newNames: keyRules.map((k) => k.escapedOut),
    shapes: new ShapeCache(),
  };
}

const KEEP_RULE: CompiledRule = compileRule("", { drop: false, rename: undefined, keys: new Map() });
const DROP_RULE: CompiledRule = compileRule("", { drop: true, rename: undefined, keys: new Map() });

/** Compiles every table rule of `ruleSet`; each compiled rule learns the shapes of its own lines. */
export function compileRules(ruleSet: RuleSet): CompiledRules {
  const tables = new Map<string, CompiledRule>();
  for (const [table, rule] of ruleSet.tables) tables.set(table, compileRule(table, rule));
  return { tables, other: ruleSet.dropOthers ? DROP_RULE : KEEP_RULE };
}

/** Why a line or point is rejected when renaming `key` to `out` repeats a name it has. */
export function clashReason(table: string, key: string, out: string): string {
  return `table ${JSON.stringify(table)}: renaming ${JSON.stringify(key)} to ${JSON.stringify(out)} repeats a tag or field of that name`;
}
