import type { Mode } from "./arguments.js";
import { ARGUMENTS_BY_NAME, argumentNames } from "./arguments.js";
import { IssueList, showValue } from "./errors.js";
import { suggestName } from "./suggest.js";
import { SECRET_ARGUMENTS, splitTriggerArguments, unquote } from "./trigger-arguments.js";

/** What the config parsers take: the trigger-argument string itself, or an object of its values. */
export type ArgsInput = string | Readonly<Record<string, unknown>>;

/** The arguments of one call, read and checked for names, ready for the per-argument readers. */
export interface ArgumentValues {
  /** The value of an argument, trimmed and unquoted; absent when not given or given empty. */
  get: (name: string) => string | undefined;
  /** Whether the argument was given with a value, even one already reported as wrong (a placeholder). */
  has: (name: string) => boolean;
  /** Where every problem goes. */
  issues: IssueList;
}

/**
 * Reads the input of either form into values and checks every name against the mode: an unknown name gets
 * the nearest known one as a suggestion, a name of the other mode says so. Values from an object are
 * treated like values from text: numbers and booleans become strings, whitespace and one pair of quotes
 * around them are dropped, and an empty value counts as not given.
 */
export function readInput(input: ArgsInput, mode: Mode): ArgumentValues {
  const issues = new IssueList();
  const values = new Map<string, string>();
  // Given, but already reported as unusable: not "required" as well.
  const unusable = new Set<string>();
  if (typeof input === "string") {
    const { args } = splitTriggerArguments(input, issues);
    for (const [key, value] of Object.entries(args)) values.set(key, value);
  } else {
    for (const [key, raw] of Object.entries(input)) {
      if (raw === undefined || raw === null) continue;
      if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") {
        const value = unquote(String(raw).trim());
        if (SECRET_ARGUMENTS.has(key)) issues.addSecret(value);
        values.set(key, value);
      } else {
        unusable.add(key);
        if (SECRET_ARGUMENTS.has(key)) issues.addNote(key, `must be a string, not ${typeof raw}`, "a string");
        else issues.add(key, "a string, number or boolean", safeShow(raw));
      }
    }
  }
  const known = argumentNames(mode);
  const knownSet = new Set(known);
  for (const key of values.keys()) {
    if (knownSet.has(key)) continue;
    const spec = ARGUMENTS_BY_NAME.get(key);
    if (spec !== undefined) {
      const other = spec.modes.join(" and ");
      issues.addNote(
        key,
        `is only used in ${other} mode, not in ${mode} mode`,
        `an argument of ${mode} mode`,
      );
      continue;
    }
    const suggestion = suggestName(key, known);
    issues.addNote(
      showName(key),
      suggestion === undefined ? "unknown argument" : `unknown argument; did you mean ${suggestion}?`,
      `one of ${known.join(", ")}`,
    );
  }
  for (const [key, value] of values) {
    if (knownSet.has(key) && PLACEHOLDER.test(value)) {
      // The seed's examples read host=<remote_host>: say so plainly instead of "not a valid host".
      unusable.add(key);
      const shown = SECRET_ARGUMENTS.has(key) ? "a placeholder" : `the placeholder ${value}`;
      issues.addNote(key, `is still ${shown} from an example: put the real value there`, "a real value");
    }
  }
  const given = (name: string) =>
    knownSet.has(name) && ((values.get(name) ?? "") !== "" || unusable.has(name));
  return {
    get: (name) => (given(name) && !unusable.has(name) ? values.get(name) : undefined),
    has: given,
    issues,
  };
}

const PLACEHOLDER = /^<[\w -]+>$/;

/** An unknown name is echoed as typed unless it would not read as a name (spaces, odd characters, length). */
function showName(key: string): string {
  return /^[\w.-]{1,40}$/.test(key) ? key : showValue(key);
}

function safeShow(value: unknown): string {
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
