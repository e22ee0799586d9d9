// Reads commands out of an example's README (and a unit file), so its test runs what a reader copies.

/**
 * The logical lines (`\`-newline joined) of every fenced code block of a Markdown text, or of the whole text
 * when `markdown` is false (a unit file).
 */
export function logicalLines(text: string, markdown = true): string[] {
  const lines: string[] = [];
  let inBlock = !markdown;
  let pending = "";
  for (const line of text.split("\n")) {
    if (markdown && line.trimStart().startsWith("```")) {
      inBlock = !inBlock;
      continue;
    }
    if (!inBlock) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1);
      continue;
    }
    lines.push(pending + line);
    pending = "";
  }
  return lines;
}

/**
 * The one logical line that starts with `prefix` (after leading spaces) and holds `including`; throws unless
 * there is exactly one, so a README edit that drops or duplicates a command fails the test.
 */
export function findCommand(
  text: string,
  prefix: string,
  options: { including?: string; markdown?: boolean } = {},
): string {
  const found = logicalLines(text, options.markdown ?? true).filter(
    (line) => line.trimStart().startsWith(prefix) && line.includes(options.including ?? ""),
  );
  if (found.length !== 1)
    throw new Error(`expected one command starting with ${prefix}, found ${found.length}`);
  return found[0]!.trim();
}

/**
 * Splits a command into words as sh does for what the READMEs use: spaces, '…', "…", backslash escapes,
 * `$NAME` and `${NAME}` (from `env`; an unset name is an error, so a typo fails the test) and `#` comments.
 */
export function shellWords(command: string, env: Readonly<Record<string, string>> = {}): string[] {
  const words: string[] = [];
  let word: string | undefined;
  const expand = (at: number): [string, number] => {
    const match = /^\$(?:\{(\w+)\}|(\w+))/.exec(command.slice(at));
    if (match === null) return ["$", at + 1];
    const name = (match[1] ?? match[2])!;
    const value = env[name];
    if (value === undefined) throw new Error(`$${name} is not set`);
    return [value, at + match[0].length];
  };
  for (let i = 0; i < command.length;) {
    const c = command[i]!;
    if (c === " " || c === "\t" || c === "\n") {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === "#" && word === undefined) {
      break;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in ${command}`);
      word = (word ?? "") + command.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      word ??= "";
      for (i++; command[i] !== '"';) {
        if (i >= command.length) throw new Error(`unterminated " in ${command}`);
        if (command[i] === "\\" && '"\\$`'.includes(command[i + 1] ?? "")) {
          word += command[i + 1];
          i += 2;
        } else if (command[i] === "$") {
          const [value, next] = expand(i);
          word += value;
          i = next;
        } else {
          word += command[i];
          i++;
        }
      }
      i++;
    } else if (c === "\\") {
      word = (word ?? "") + (command[i + 1] ?? "");
      i += 2;
    } else if (c === "$") {
      const [value, next] = expand(i);
      word = (word ?? "") + value;
      i = next;
    } else {
      word = (word ?? "") + c;
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The value after `flag` in `words`. */
export function flagValue(words: readonly string[], flag: string): string {
  const at = words.indexOf(flag);
  if (at < 0 || at + 1 >= words.length) throw new Error(`no ${flag} in ${words.join(" ")}`);
  return words[at + 1]!;
}

/** `Key=value` settings of a unit file's sections (the last one wins, as systemd reads most keys). */
export function unitSettings(unit: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of logicalLines(unit, false)) {
    const match = /^(\w+)=(.*)$/.exec(line.trim());
    if (match !== null) settings.set(match[1]!, match[2]!.trim());
  }
  return settings;
}
