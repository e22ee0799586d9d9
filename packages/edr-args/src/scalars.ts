import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { IssueList } from "./errors.js";

/** Reads a whole number from `min` to `max` (digits only: no sign, no exponent, no fraction). */
export function readInteger(
  argument: string,
  value: string,
  issues: IssueList,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  issues.add(argument, range, value);
  return undefined;
}

/** Reads `true` or `false` in any case. */
export function readBoolean(argument: string, value: string, issues: IssueList): boolean | undefined {
  const lower = value.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  issues.add(argument, "true or false", value);
  return undefined;
}

const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ["", 1],
  ["b", 1],
  ["kib", 1024],
  ["mib", 1024 * 1024],
]);

/** Reads a byte size: an integer, or one followed by `KiB` or `MiB` (any case), from `min` to `max` bytes. */
export function readSize(
  argument: string,
  value: string,
  issues: IssueList,
  min: number,
  max: number,
): number | undefined {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value);
  const unit = SIZE_UNITS.get((match?.[2] ?? "?").toLowerCase());
  const bytes = match !== null && unit !== undefined ? Number(match[1]) * unit : Number.NaN;
  if (Number.isSafeInteger(bytes) && bytes >= min && bytes <= max) return bytes;
  issues.add(
    argument,
    `bytes as an integer or with KiB or MiB (4MiB), from ${min} to ${max} (${formatMiB(max)})`,
    value,
  );
  return undefined;
}

function formatMiB(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)}MiB` : `${bytes} bytes`;
}

/** Reads one of a fixed set of words, in any case. */
export function readChoice<T extends string>(
  argument: string,
  value: string,
  choices: readonly T[],
  issues: IssueList,
): T | undefined {
  const lower = value.toLowerCase();
  const found = choices.find((choice) => choice === lower);
  if (found !== undefined) return found;
  issues.add(argument, `one of ${choices.join(", ")}`, value);
  return undefined;
}

/** Where relative paths and `~` are resolved; injectable for tests. */
export interface PathContext {
  /** The home directory `~` stands for. */
  homeDir: string;
  /** The directory relative paths are resolved against. */
  cwd: string;
}

/** The default {@link PathContext}: this process's home and working directory. */
export function defaultPathContext(): PathContext {
  return { homeDir: homedir(), cwd: process.cwd() };
}

/** Expands a leading `~` and makes the path absolute, so a later change of directory changes nothing. */
export function resolvePath(path: string, context: PathContext): string {
  let expanded = path;
  if (path === "~") expanded = context.homeDir;
  else if (path.startsWith("~/")) expanded = join(context.homeDir, path.slice(2));
  return isAbsolute(expanded) ? resolve(expanded) : resolve(context.cwd, expanded);
}
