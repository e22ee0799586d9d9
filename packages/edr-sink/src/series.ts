const SPACE = 0x20;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Marks the measurement's hash apart from a tag pair's, so that `a,b=1` and `b=1,a` differ. */
const GOLDEN = 0x9e3779b1;

/**
 * A 32-bit hash of a line's series (measurement + tag set), read up to the first unescaped space.
 *
 * The tag pairs are hashed one by one and summed, so `m,a=1,b=2` and `m,b=2,a=1` (the same series)
 * hash alike without sorting or allocating. Escapes follow InfluxDB 3: a backslash escapes a following
 * `,`, `=` or space; before anything else it is a literal character. Two series that collide only share
 * a lane, which costs parallelism, never order.
 *
 * This runs once per line on the sink's hot path: a key without backslashes (nearly every key) is hashed
 * up to the first space found by `indexOf`, which halves the cost of reading escapes char by char.
 */
export function hashSeries(line: string): number {
  const space = line.indexOf(" ");
  const end = space === -1 ? line.length : space;
  let total = 0;
  let h = FNV_OFFSET;
  let first = true;
  for (let i = 0; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === COMMA) {
      total = (total + (first ? Math.imul(h, GOLDEN) : h)) | 0;
      first = false;
      h = FNV_OFFSET;
    } else if (c === BACKSLASH) {
      return hashEscapedSeries(line);
    } else {
      h = Math.imul(h ^ c, FNV_PRIME);
    }
  }
  return finish((total + (first ? Math.imul(h, GOLDEN) : h)) | 0);
}

/** {@link hashSeries} for a key with backslashes: the same hash, reading escapes char by char. */
function hashEscapedSeries(line: string): number {
  let total = 0;
  let h = FNV_OFFSET;
  let first = true;
  const n = line.length;
  for (let i = 0; i < n; i++) {
    let c = line.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < n) {
      const next = line.charCodeAt(i + 1);
      if (next === SPACE || next === COMMA || next === EQUALS) {
        h = Math.imul(h ^ c, FNV_PRIME);
        c = next;
        i++;
      }
    } else if (c === SPACE) {
      break;
    } else if (c === COMMA) {
      total = (total + (first ? Math.imul(h, GOLDEN) : h)) | 0;
      first = false;
      h = FNV_OFFSET;
      continue;
    }
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return finish((total + (first ? Math.imul(h, GOLDEN) : h)) | 0);
}

/** A final avalanche so that `% lanes` sees well-mixed low bits. */
function finish(total: number): number {
  total ^= total >>> 16;
  total = Math.imul(total, 0x85ebca6b);
  total ^= total >>> 13;
  return total >>> 0;
}

/**
 * The series key of a line as text (everything before the first unescaped space), for tests and tools.
 * Not used on the hot path.
 */
export function seriesKey(line: string): string {
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < n) {
      const next = line.charCodeAt(i + 1);
      if (next === SPACE || next === COMMA || next === EQUALS) i++;
    } else if (c === SPACE) {
      return line.slice(0, i);
    }
  }
  return line;
}
