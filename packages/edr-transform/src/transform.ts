import { DownsamplingTransform } from "./downsample-transform.js";
import { TransformError } from "./errors.js";
import { BACKSLASH, COMMA, HASH, NL, SPACE, TAB, escapeName } from "./escape.js";
import { setEntry, type FieldValue, type Point } from "./point.js";
import {
  checkAgainstColumns,
  composeRuleSets,
  excludeRules,
  filterRules,
  renameFieldRules,
  renameTableRules,
  type ReplicationRules,
  type RuleSet,
  type TableRule,
} from "./rules.js";
import { LineCollector } from "./line-collector.js";
import { ENTRY_DROPPED as DROPPED, ENTRY_KEPT as KEPT } from "./line-shape.js";
import { FLAG_KEY_ESCAPED, LineScanner, STRIDE, unescapeName } from "./scanner.js";
import { EMPTIED, REJECTED, ShapeCache } from "./shape-cache.js";

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

/** One key a table rule renames or drops. */
interface KeyRule {
  readonly source: string;
  /** New name, or null to drop the key. */
  readonly out: string | null;
  /** New name escaped for a line, or null. */
  readonly escapedOut: string | null;
}

// A compiled table rule for the line path: names escaped once, keys bucketed by length so that a key of a
// line is matched with startsWith at its offset, without slicing it out.
interface LineRule {
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

function compileRule(table: string, rule: TableRule): LineRule {
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

const KEEP_RULE: LineRule = compileRule("", { drop: false, rename: undefined, keys: new Map() });
const DROP_RULE: LineRule = compileRule("", { drop: true, rename: undefined, keys: new Map() });

class RuleTransform implements Transform {
  private readonly compiled = new Map<string, LineRule>();
  private readonly otherRule: LineRule;
  private readonly scanner = new LineScanner();
  private readonly collector = new LineCollector();

  constructor(readonly ruleSet: RuleSet) {
    for (const [table, rule] of ruleSet.tables) this.compiled.set(table, compileRule(table, rule));
    this.otherRule = ruleSet.dropOthers ? DROP_RULE : KEEP_RULE;
  }

  checkColumns(table: string, columns: Iterable<string>): void {
    checkAgainstColumns(this.ruleSet, table, columns);
  }

  lines(lines: readonly string[]): TransformResult<string> {
    const items: string[] = [];
    const rejected: Rejection<string>[] = [];
    let dropped = 0;
    let emptied = 0;
    const collector = this.collector;
    collector.start(items);
    // Batches usually hold runs of one table: remember the last measurement's raw text and rule. A line that
    // starts with that text, then a comma or a space, has the same measurement: the text was read from the
    // start of a line with no leading whitespace, up to the comma or space that ended it. Empty until such a
    // measurement is read: no sentinel text will do, since a line may start with anything (`"\n cpu …"` is a
    // cpu line, once its leading whitespace is skipped).
    let lastRaw = "";
    let lastRule = this.otherRule;
    for (let index = 0; index < lines.length; index++) {
      let line = lines[index]!;
      let rule: LineRule;
      const after = line.charCodeAt(lastRaw.length);
      if ((after === COMMA || after === SPACE) && lastRaw.length !== 0 && line.startsWith(lastRaw)) {
        rule = lastRule;
      } else {
        const first = line.charCodeAt(0);
        if (first === SPACE || first === TAB || first === NL || first === HASH || line.length === 0) {
          line = trimLeading(line);
          if (line.length === 0) {
            dropped++;
            continue;
          }
        }
        let i = 0;
        let escaped = false;
        const n = line.length;
        for (; i < n; i++) {
          const c = line.charCodeAt(i);
          if (c === BACKSLASH) {
            escaped = true;
            i++;
          } else if (c === COMMA || c === SPACE) break;
        }
        if (i > n) i = n;
        const raw = line.slice(0, i);
        const name = escaped ? unescapeName(line, 0, i, true) : raw;
        rule = this.compiled.get(name) ?? this.otherRule;
        // Only a measurement ended by a comma or a space: one cut short by the end of the line, as in `cpu\`,
        // says nothing of the lines that start with it (`cpu\ x,t=a f=1` is table "cpu x").
        if (i > 0 && i < n) {
          lastRaw = raw;
          lastRule = rule;
        }
      }
      if (rule.keep) {
        items.push(line);
      } else if (rule.drop) {
        dropped++;
      } else {
        const out = this.rewrite(line, rule);
        if (out === EMPTIED) emptied++;
        else if (out === REJECTED) rejected.push({ index, item: line, reason: this.reason });
        else if (out === line) items.push(line);
        else collector.push(out);
      }
    }
    collector.finish();
    return { items, dropped, emptied, rejected };
  }

  private reason = "";

  /** Per entry of the scanned line: KEPT, DROPPED, or the index of its key rule when renamed. */
  private status = new Int32Array(64);

  private readonly parts: string[] = [];

  private rewrite(line: string, rule: LineRule): string {
    const shapes = rule.shapes;
    const shaped = shapes.rewrite(line);
    if (shaped !== undefined) {
      if (shaped === REJECTED) this.reason = shapes.reason;
      return shaped;
    }
    const out = this.rewriteScanned(line, rule);
    if (this.scanned) {
      const status = rule.keyRules.length === 0 ? undefined : this.status;
      shapes.learn(line, this.scanner, status, rule.measurement, rule.newNames, out, this.reason);
    }
    return out;
  }

  /** Whether the last line given to the scanner was valid. */
  private scanned = false;

  private rewriteScanned(line: string, rule: LineRule): string {
    const sc = this.scanner;
    this.scanned = sc.scan(line, 0, line.length);
    if (!this.scanned) {
      this.reason = `column ${sc.errorAt + 1}: ${sc.errorReason}`;
      return REJECTED;
    }
    let pos = 0;
    // A rope of slices and new names: cheaper here than a flat copy (measured), flattened once by the
    // consumer when it joins lines into a request body.
    let out = "";
    if (rule.measurement !== undefined) {
      out = rule.measurement;
      pos = sc.measurementEnd;
    }
    const keyRules = rule.keyRules;
    if (keyRules.length === 0) return out + line.slice(pos);
    const entries = sc.entries;
    const tagCount = sc.tagCount;
    const total = tagCount + sc.fieldCount;
    if (this.status.length < total) this.status = new Int32Array(total * 2);
    const status = this.status;
    const byLength = rule.byLength;
    let renamed = 0;
    let emitted = 0;
    for (let k = 0; k < total; k++) {
      const base = k * STRIDE;
      const keyStart = entries[base]!;
      const keyEnd = entries[base + 1]!;
      let match = -1;
      if ((entries[base + 4]! & FLAG_KEY_ESCAPED) === 0) {
        const candidates = byLength[keyEnd - keyStart];
        if (candidates !== undefined) {
          for (let c = 0; c < candidates.length; c++) {
            const index = candidates[c]!;
            if (line.startsWith(keyRules[index]!.source, keyStart)) {
              match = index;
              break;
            }
          }
        }
      } else {
        match = rule.byName.get(unescapeName(line, keyStart, keyEnd, false)) ?? -1;
      }
      if (match < 0) {
        status[k] = KEPT;
        if (k >= tagCount) emitted++;
        continue;
      }
      const escapedOut = keyRules[match]!.escapedOut;
      if (escapedOut === null) {
        status[k] = DROPPED;
        if (k < tagCount || emitted > 0) {
          out += line.slice(pos, keyStart - 1); // drop ",key=value"
          pos = entries[base + 3]!;
        } else {
          out += line.slice(pos, keyStart); // drop "key=value," (or the only "key=value")
          pos = k + 1 < total ? entries[base + STRIDE]! : entries[base + 3]!;
        }
        continue;
      }
      status[k] = match;
      if (k >= tagCount) emitted++;
      out += line.slice(pos, keyStart) + escapedOut;
      pos = keyEnd;
      renamed++;
    }
    if (emitted === 0) return EMPTIED;
    if (renamed > 0) {
      const clash = this.findClash(line, rule, total);
      if (clash !== undefined) {
        this.reason = clash;
        return REJECTED;
      }
    }
    if (pos === 0) return line;
    return out + line.slice(pos);
  }

  /**
   * A renamed key equal to a key the line keeps would repeat that name; so would one name renamed twice (a
   * tag and a field of that name), as the points path sees it.
   */
  private findClash(line: string, rule: LineRule, total: number): string | undefined {
    const status = this.status;
    const entries = this.scanner.entries;
    for (let r = 0; r < total; r++) {
      if (status[r]! < 0) continue;
      const keyRule = rule.keyRules[status[r]!]!;
      const target = keyRule.out!;
      for (let k = 0; k < total; k++) {
        if (k !== r && status[k] === status[r]) return clashReason(rule.table, keyRule.source, target);
        if (status[k] !== KEPT) continue;
        const base = k * STRIDE;
        const keyStart = entries[base]!;
        const keyEnd = entries[base + 1]!;
        const same =
          (entries[base + 4]! & FLAG_KEY_ESCAPED) === 0
            ? keyEnd - keyStart === target.length && line.startsWith(target, keyStart)
            : unescapeName(line, keyStart, keyEnd, false) === target;
        if (same) return clashReason(rule.table, keyRule.source, target);
      }
    }
    return undefined;
  }

  private readonly pointOuts: string[] = [];
  private readonly pointRenames: string[] = [];

  points(points: readonly Point[]): TransformResult<Point> {
    const items: Point[] = [];
    const rejected: Rejection<Point>[] = [];
    let dropped = 0;
    let emptied = 0;
    for (let index = 0; index < points.length; index++) {
      const point = points[index]!;
      const rule = this.compiled.get(point.measurement) ?? this.otherRule;
      if (rule.keep) {
        items.push(point);
        continue;
      }
      if (rule.drop) {
        dropped++;
        continue;
      }
      const names = rule.names;
      const tags: Record<string, string> = {};
      const fields: Record<string, FieldValue> = {};
      // Source and output names, and the renames applied, to find a rename that repeats a name.
      const outs = this.pointOuts;
      const renamed = this.pointRenames;
      outs.length = 0;
      renamed.length = 0;
      for (const key in point.tags) {
        const mapped = names.get(key);
        if (mapped === null) continue;
        const out = mapped ?? key;
        if (mapped !== undefined) renamed.push(key, out);
        outs.push(key, out);
        setEntry(tags, out, point.tags[key]!);
      }
      let fieldCount = 0;
      for (const key in point.fields) {
        const mapped = names.get(key);
        if (mapped === null) continue;
        const out = mapped ?? key;
        if (mapped !== undefined) renamed.push(key, out);
        outs.push(key, out);
        setEntry(fields, out, point.fields[key]!);
        fieldCount++;
      }
      if (fieldCount === 0) {
        emptied++;
        continue;
      }
      let clash: string | undefined;
      for (let r = 0; r < renamed.length && clash === undefined; r += 2) {
        const target = renamed[r + 1]!;
        if (outs.indexOf(target) !== outs.lastIndexOf(target))
          clash = clashReason(point.measurement, renamed[r]!, target);
      }
      if (clash !== undefined) {
        rejected.push({ index, item: point, reason: clash });
        continue;
      }
      const next: Point = { measurement: rule.rename ?? point.measurement, tags, fields };
      if (point.timestamp !== undefined) next.timestamp = point.timestamp;
      items.push(next);
    }
    return { items, dropped, emptied, rejected };
  }
}

function clashReason(table: string, key: string, out: string): string {
  return `table ${JSON.stringify(table)}: renaming ${JSON.stringify(key)} to ${JSON.stringify(out)} repeats a tag or field of that name`;
}

function trimLeading(line: string): string {
  let start = 0;
  for (;;) {
    let c = 0;
    while (start < line.length && ((c = line.charCodeAt(start)) === SPACE || c === TAB || c === NL)) start++;
    if (start < line.length && line.charCodeAt(start) === HASH) {
      const newline = line.indexOf("\n", start);
      start = newline === -1 ? line.length : newline;
      continue;
    }
    return start === 0 ? line : line.slice(start);
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
