import { parseArgs } from "node:util";
import { suggestName } from "edr-args";

/** One option of a command: a flag with a value (`--queue-dir DIR`) or a switch (`--once`). */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  /** Shown in the help: `DIR`, `URL`… (strings only). */
  readonly value?: string;
  readonly description: string;
}

/** What {@link readFlags} found: the values, the words that are not flags, and every problem. */
export interface Flags {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly problems: readonly string[];
}

/**
 * Reads `argv` against a command's flags and reports every problem at once (an unknown flag with the
 * nearest known one, a flag without its value, a flag given twice), rather than stopping at the first as
 * `parseArgs` in strict mode does. `--help`/`-h` is always known.
 */
export function readFlags(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): Flags {
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, { type: spec.type }]),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...options, help: { type: "boolean", short: "h" } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const problems: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    const name = token.name;
    const spec = name === "help" ? ({ type: "boolean" } as const) : specs[name];
    if (spec === undefined) {
      const near = suggestName(name, Object.keys(specs));
      problems.push(
        `${token.rawName}: unknown option${near === undefined ? "" : ` (did you mean --${near}?)`}`,
      );
      continue;
    }
    if (name in values) {
      problems.push(`--${name}: given more than once`);
      continue;
    }
    if (spec.type === "string") {
      if (token.value === undefined || token.value === "") {
        problems.push(`--${name}: expected a value (--${name} ${spec.value ?? "VALUE"})`);
        continue;
      }
      values[name] = token.value;
    } else {
      if (token.value !== undefined) {
        problems.push(`--${name}: takes no value, got ${JSON.stringify(token.value)}`);
        continue;
      }
      values[name] = true;
    }
  }
  return { values, positionals, problems };
}

/** The options part of a command's help: one flag a line, descriptions aligned and wrapped at 100 columns. */
export function formatFlagsHelp(specs: Readonly<Record<string, FlagSpec>>): string {
  const rows = Object.entries(specs).map(([name, spec]) => [
    spec.type === "string" ? `--${name} ${spec.value ?? "VALUE"}` : `--${name}`,
    spec.description,
  ]);
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([left]) => left!.length)) + 4;
  return rows
    .map(([left, right]) => `  ${left!.padEnd(width - 2)}${wrap(right!, 100 - width, " ".repeat(width))}`)
    .join("\n");
}

/** Breaks `text` at spaces into lines of at most `columns`, the later ones indented by `indent`. */
function wrap(text: string, columns: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${indent}`);
}
