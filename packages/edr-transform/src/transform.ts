// The public face of the rule transforms: what a transform is and returns, and the factories that build one
// from the seed's rules. A transform compiles its rule set once (compiled-rule.ts) and applies it to lines
// (line-rewriter.ts) or to points (point-rewriter.ts); composing transforms composes their rule sets, so a
// chain of them still reads each line once.
import { compileRules } from "./compiled-rule.js";
import { DownsamplingTransform } from "./downsample-transform.js";
import { TransformError } from "./errors.js";
import { LineRewriter } from "./line-rewriter.js";
import { PointRewriter } from "./point-rewriter.js";
import type { Point } from "./point.js";
import {
  checkAgainstColumns,
  composeRuleSets,
  excludeRules,
  filterRules,
  renameFieldRules,
  renameTableRules,
  type ReplicationRules,
  type RuleSet,
} from "./rules.js";

/** An item a transform could not carry over, with the reason; `index` is its position in the input batch. */
export interface Rejection<T> {
  index: number;
  item: T;
  reason: string;
}

/** What a transform did to a batch. */
export interface TransformResult<T> {
  /** What to replicate, in input order. */
  items: T[];
  /** Lines or points of tables the filter leaves out (and blank or comment lines). */
  dropped: number;
  /** Lines or points left with no field once excluded fields were removed. */
  emptied: number;
  /**
   * Lines that are not valid line protocol, or whose renames would repeat a tag or field; with downsampling
   * also the lines and points without a timestamp (they belong to no bucket).
   */
  rejected: Rejection<T>[];
  /**
   * With downsampling only: the input lines or points folded into the buckets of `items` (each item is one
   * table, tag set and bucket). Every input is counted once, in `dropped`, `emptied`, `rejected` or here.
   */
  downsampled?: number;
  /**
   * With downsampling only: what could not be aggregated, one message each. A value is left out when its
   * field changed type within a bucket or its aggregate does not fit (an integer sum out of range, a float
   * sum overflowing); a bucket is left out when no field is left or a rename would repeat a name in it.
   * Empty when everything was aggregated.
   */
  problems?: string[];
}

/** A compiled set of table filter, exclusion and rename rules, applied to batches of lines or points. */
export interface Transform {
  /**
   * Transforms lines of line protocol (one line per element). A line whose table no rule touches is
   * returned as the same string, unparsed.
   */
  lines(lines: readonly string[]): TransformResult<string>;
  /** Transforms points. A point whose table no rule touches is returned as the same object. */
  points(points: readonly Point[]): TransformResult<Point>;
  /**
   * Checks the renames of `table` against the columns it has (e.g. from `information_schema.columns`);
   * throws an {@link TransformError} (`INVALID_ARGUMENT`) when a rename lands on a column that stays.
   */
  checkColumns(table: string, columns: Iterable<string>): void;
}

/** A transform of table filter, exclusion and rename rules: each path gets the rules compiled once. */
class RuleTransform implements Transform {
  private readonly lineRewriter: LineRewriter;
  private readonly pointRewriter: PointRewriter;

  constructor(readonly ruleSet: RuleSet) {
    const rules = compileRules(ruleSet);
    this.lineRewriter = new LineRewriter(rules);
    this.pointRewriter = new PointRewriter(rules);
  }

  checkColumns(table: string, columns: Iterable<string>): void {
    checkAgainstColumns(this.ruleSet, table, columns);
  }

  lines(lines: readonly string[]): TransformResult<string> {
    return this.lineRewriter.rewriteBatch(lines);
  }

  points(points: readonly Point[]): TransformResult<Point> {
    return this.pointRewriter.rewriteBatch(points);
  }
}

/** Keeps only the tables listed in `rules.tables` (all tables when absent or empty). */
export function filterTables(rules: ReplicationRules): Transform {
  return new RuleTransform(filterRules(rules));
}

/** Removes the fields (and tags of those names) listed per table in `rules.excludedFields`. */
export function excludeFields(rules: ReplicationRules): Transform {
  return new RuleTransform(excludeRules(rules));
}

/** Renames tables per `rules.tablesRename`. */
export function renameTables(rules: ReplicationRules): Transform {
  return new RuleTransform(renameTableRules(rules));
}

/**
 * Renames fields, and tags of those names as the seed does, per table per `rules.fieldRenames`.
 * Throws an {@link TransformError} (`INVALID_ARGUMENT`) when two names of a table are renamed to one.
 */
export function renameFields(rules: ReplicationRules): Transform {
  return new RuleTransform(renameFieldRules(rules));
}

/**
 * Chains transforms made by this package into one, compiled once: each line is scanned once however
 * many transforms are chained. Later transforms see the table names earlier ones produced.
 * Throws an {@link TransformError} (`INVALID_ARGUMENT`) for renames that collide once chained.
 */
export function composeTransforms(...transforms: Transform[]): Transform {
  let set: RuleSet = { tables: new Map(), dropOthers: false };
  for (const transform of transforms) {
    if (!(transform instanceof RuleTransform)) {
      throw new TransformError(
        "INVALID_ARGUMENT",
        "composeTransforms: expected transforms made by edr-transform (filterTables, excludeFields, renameTables, renameFields, composeTransforms, or createTransform without downsampling)",
      );
    }
    set = composeRuleSets(set, transform.ruleSet);
  }
  return new RuleTransform(set);
}

/**
 * All of the seed's rules in the seed's order, every rule naming tables by their local name:
 * filter tables, exclude fields, rename fields (and tags), rename tables.
 *
 * With `rules.downsampling`, each batch is also downsampled (see {@link downsample}) after the exclusion and
 * before the renames, so aggregations name local tables and fields: one point per table, tag set and
 * epoch-aligned bucket, stamped with the bucket start, and the result says how many inputs were folded
 * (`downsampled`) and what could not be aggregated (`problems`). Each call aggregates its own batch: give a
 * bucket's points in one call (or use {@link createDownsampler}), since a second point of the same bucket
 * would overwrite the first at the remote. Such a transform cannot be passed to {@link composeTransforms}.
 * Throws an {@link TransformError} (`INVALID_ARGUMENT`) for colliding renames or a bad downsampling config.
 */
export function createTransform(rules: ReplicationRules): Transform {
  const all = composeTransforms(
    filterTables(rules),
    excludeFields(rules),
    renameFields(rules),
    renameTables(rules),
  );
  const downsampling = rules.downsampling;
  if (downsampling === undefined) return all;
  const filter = filterRules(rules);
  return new DownsamplingTransform({
    dropsTable: (table) => filter.dropOthers && !filter.tables.has(table),
    before: composeTransforms(filterTables(rules), excludeFields(rules)),
    after: composeTransforms(renameFields(rules), renameTables(rules)),
    all,
    downsampling,
  });
}
