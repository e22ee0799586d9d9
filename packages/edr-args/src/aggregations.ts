import type { AggregateFunction, AggregationRules } from "./config.js";
import { AGGREGATE_FUNCTIONS } from "./config.js";
import type { IssueList } from "./errors.js";
import { showValue } from "./errors.js";
import { RESERVED_FIELD_NAMES } from "./names.js";
import { suggestName } from "./suggest.js";

const FUNCTIONS: ReadonlySet<string> = new Set(AGGREGATE_FUNCTIONS);
/** Names other query languages use for the same functions. */
const SYNONYMS: ReadonlyMap<string, AggregateFunction> = new Map([["mean", "avg"]]);

const FORMAT = "<function> or <table>:<field>@<function>$<field>@<function>.<table>:…";

/** Reads a function name (any case); adds an issue with the nearest known name when it is not one. */
function readFunction(
  argument: string,
  name: string,
  whole: string,
  issues: IssueList,
): AggregateFunction | undefined {
  const lower = name.toLowerCase();
  if (FUNCTIONS.has(lower)) return lower as AggregateFunction;
  const hint = SYNONYMS.get(lower) ?? suggestName(lower, AGGREGATE_FUNCTIONS);
  const known = AGGREGATE_FUNCTIONS.join("|");
  const where = name === whole ? "" : ` in place of ${showValue(name)}`;
  const didYouMean = hint === undefined ? "" : ` (did you mean ${hint}?)`;
  issues.add(argument, `a function ${known}${where}${didYouMean}`, whole);
  return undefined;
}

/**
 * `aggregations`: the function per field when downsampling. One name for every field (`max`), per table and
 * field (`cpu:usage@max$temp@min.mem:used@avg`), or both (`max.cpu:temp@min`: the lone name covers every
 * field not listed). Names are local names. Functions: avg, sum, min, max, count, first, last, median.
 */
export function readAggregations(
  argument: string,
  value: string,
  issues: IssueList,
): AggregationRules | undefined {
  const rules: AggregationRules = { fields: new Map() };
  let ok = true;
  for (const segment of value.split(".")) {
    if (segment === "") {
      issues.add(argument, `${FORMAT} (no empty part between ".")`, value);
      return undefined;
    }
    const colon = segment.indexOf(":");
    if (colon < 0) {
      const fn = readFunction(argument, segment, value, issues);
      if (fn === undefined) return undefined;
      if (rules.default !== undefined) {
        issues.addNote(
          argument,
          `has two functions for all fields (${rules.default} and ${fn}): keep one`,
          "at most one lone function name",
        );
        return undefined;
      }
      rules.default = fn;
      continue;
    }
    const table = segment.slice(0, colon);
    if (table === "") {
      issues.add(argument, `${FORMAT} (a table name before ":")`, value);
      return undefined;
    }
    if (rules.fields.has(table)) {
      issues.addNote(
        argument,
        `table ${showValue(table)} is listed more than once (join its fields with "$")`,
        "each table once",
      );
      ok = false;
      continue;
    }
    const fields = new Map<string, AggregateFunction>();
    for (const pair of segment.slice(colon + 1).split("$")) {
      const halves = pair.split("@");
      const [field = "", name = ""] = halves;
      if (halves.length !== 2 || field === "" || name === "" || field.includes(":")) {
        issues.add(argument, `${FORMAT} (${showValue(pair)} is not <field>@<function>)`, value);
        return undefined;
      }
      if (RESERVED_FIELD_NAMES.has(field)) {
        issues.addNote(argument, `${showValue(field)} is the timestamp column, not a field`, "a field name");
        return undefined;
      }
      const fn = readFunction(argument, name, value, issues);
      if (fn === undefined) return undefined;
      if (fields.has(field)) {
        issues.addNote(
          argument,
          `field ${showValue(field)} of table ${showValue(table)} is listed more than once`,
          "each field once",
        );
        ok = false;
        continue;
      }
      fields.set(field, fn);
    }
    rules.fields.set(table, fields);
  }
  if (!ok) return undefined;
  // The lone function first, so that a printed config reads in the order it applies.
  return rules.default === undefined ? rules : { default: rules.default, fields: rules.fields };
}
