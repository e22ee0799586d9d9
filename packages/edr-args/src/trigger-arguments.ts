import { ARGUMENTS } from "./arguments.js";
import { IssueList } from "./errors.js";

/** Arguments whose values are secrets (`token`, `local_token`): never echoed in a message. */
export const SECRET_ARGUMENTS: ReadonlySet<string> = new Set(
  ARGUMENTS.filter((spec) => spec.secret === true).map((spec) => spec.name),
);

/** The result of splitting a trigger-argument string: the pairs read, and the problems met on the way. */
export interface SplitArguments {
  /** Key -> value; for a duplicated key, the first value. A null-prototype object (`__proto__` is just a key). */
  args: Record<string, string>;
  /** Problems of the string's syntax. */
  issues: IssueList;
}

/**
 * Splits `k=v,k2=v2` without throwing: commas separate pairs, the first `=` separates key from value,
 * whitespace around keys and values is dropped and one pair of matching quotes (`"…"` or `'…'`) around a
 * value is removed (quote a value to keep its outer spaces). Empty text gives no pairs.
 */
export function splitTriggerArguments(text: string, issues: IssueList = new IssueList()): SplitArguments {
  const args = Object.create(null) as Record<string, string>;
  if (text.trim() === "") return { args, issues };
  const pairs = text.split(",");
  let previousKey = "";
  pairs.forEach((pair, index) => {
    const label = `#${index + 1}`;
    const eq = pair.indexOf("=");
    if (eq < 0) {
      const bare = pair.trim();
      if (bare === "") {
        issues.addNote(label, "empty pair (a stray comma?)", "key=value between commas");
      } else if (SECRET_ARGUMENTS.has(previousKey)) {
        // Most likely the rest of a secret that contained a comma: never echo it.
        issues.addNote(label, `no "=" after ${previousKey} (does its value contain a comma?)`, "key=value");
      } else if (ARGUMENTS.some((spec) => spec.name === bare)) {
        issues.addNote(bare, `has no "=" and no value (write ${bare}=<value>)`, `${bare}=<value>`);
      } else {
        issues.add(label, "key=value", bare);
      }
      previousKey = "";
      return;
    }
    const key = pair.slice(0, eq).trim();
    const value = unquote(pair.slice(eq + 1).trim());
    previousKey = key;
    if (SECRET_ARGUMENTS.has(key)) issues.addSecret(value);
    if (key === "") {
      issues.addNote(label, 'has no name before its "="', "key=value");
      return;
    }
    if (key in args) {
      issues.addNote(key, "given more than once", "each argument once");
      return;
    }
    args[key] = value;
  });
  return { args, issues };
}

/**
 * Parses the engine's trigger-argument string (`host=…,token=…,tables=a.b`) into an object of strings.
 * Throws one {@link ArgsError} listing every pair without `=`, empty key and duplicate key.
 *
 * @example parseTriggerArguments('host="https://10.0.0.2",database=db') // { host: "https://10.0.0.2", database: "db" }
 */
export function parseTriggerArguments(text: string): Record<string, string> {
  const { args, issues } = splitTriggerArguments(text);
  issues.throwIfAny();
  return args;
}

/** Removes one pair of matching quotes (`"…"` or `'…'`) around a value. */
export function unquote(value: string): string {
  if (value.length >= 2) {
    const first = value[0];
    if ((first === '"' || first === "'") && value[value.length - 1] === first) return value.slice(1, -1);
  }
  return value;
}
