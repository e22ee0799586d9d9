// Where InfluxDB 3 ends a line of a request body. Its `split_lines` cuts a body at newlines, except one inside
// what it takes for a string value (a quote opens or closes one only in the fields, after the first space, and
// only after more `=` than `,` outside strings) or escaped by a backslash. A line the local instance stored as
// the last of its body can end inside such a "string" (a field key with a comma before a quoted value, say):
// followed by other lines in one request, it would swallow them into one bad line at the remote. Such a line
// goes last in its request. edr-transform's `splitLines` is the definition; a property test holds them together.

const BACKSLASH = 92;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const EQUALS = 61;

/**
 * Whether InfluxDB 3 would read past the end of `line` into the line after it in the same body: the line ends
 * inside a string as its splitting rules see it, or on a backslash that escapes the newline after it.
 */
export function runsIntoNextLine(line: string): boolean {
  // Only a quote or a backslash can carry a line past its end (two scans at memchr speed).
  if (line.indexOf('"') === -1 && line.indexOf("\\") === -1) return false;
  const n = line.length;
  let quoted = false;
  let fields = false;
  let equals = 0;
  let commas = 0;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH) {
      if (i === n - 1) return true; // it escapes the newline that follows
      i++;
      continue;
    }
    if (c === SPACE) {
      fields = true;
      continue;
    }
    if (!fields) continue;
    if (!quoted && c === EQUALS) equals++;
    else if (!quoted && c === COMMA) commas++;
    else if (c === QUOTE && equals > commas) quoted = !quoted;
  }
  return quoted;
}

/** Whether a line of `lines` but the last would run into the next in one body (they need more than one request). */
export function linesRunTogether(lines: readonly string[]): boolean {
  for (let i = 0; i < lines.length - 1; i++) if (runsIntoNextLine(lines[i]!)) return true;
  return false;
}
