// Lines of one table mostly repeat one shape: the same measurement text, keys in the same order, values of
// the same kinds. A shape compiles to one regular expression that matches only valid lines of that shape
// and captures the unchanged stretches, so that a line of a known shape is checked by the regex engine's
// native code and rewritten from a few pieces (measured: the regex checks a line faster than a JavaScript
// `charCodeAt` loop reads it). The regex accepts a subset of what the scanner accepts (no escapes in names
// or tag values, one space between sections, integers and timestamps short enough to be in range, floats
// that cannot overflow): any other line misses every shape and takes the scanner's path, which is the
// reference for both the checks and the output.
import {
  FLAG_KEY_ESCAPED,
  FLAG_VALUE_ESCAPED,
  KIND_BOOLEAN,
  KIND_FLOAT,
  KIND_INTEGER,
  KIND_STRING,
  KIND_UNSIGNED,
  STRIDE,
  type LineScanner,
} from "./scanner.js";

/** What a line of a shape becomes. */
export const SHAPE_WRITE = 0;
export const SHAPE_UNCHANGED = 1;
export const SHAPE_EMPTIED = 2;
export const SHAPE_REJECTED = 3;

export interface LineShape {
  readonly regex: RegExp;
  readonly outcome: number;
  /** The rejection reason, for SHAPE_REJECTED. */
  readonly reason: string;
  /** The output is constants[0] + group 1 + constants[1] + … + group n + constants[n]. */
  readonly constants: readonly string[];
}

const TAG_VALUE = "[^\\\\, \\t\\n]+";
// 1 to 18 digits always fit int64 and 19 digits uint64; a float with at most 200 integer digits and a
// 2-digit exponent cannot overflow. Longer forms are valid too, but left to the scanner.
const FIELD_VALUE: Readonly<Record<number, string>> = {
  [KIND_FLOAT]: "-?\\d{1,200}(?:\\.\\d+)?(?:[eE][+-]?\\d{1,2})?",
  [KIND_INTEGER]: "-?\\d{1,18}i",
  [KIND_UNSIGNED]: "\\d{1,19}u",
  // Unrolled so that the engine loops over characters without a backtracking entry per character.
  [KIND_STRING]: '"[^"\\\\]*(?:\\\\[\\s\\S][^"\\\\]*)*"',
  [KIND_BOOLEAN]: "(?:true|True|TRUE|t|T|false|False|FALSE|f|F)",
};
const TIMESTAMP = "-?(?:\\d{1,18}|[1-8]\\d{18})";

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/**
 * Builds a shape from its pieces in line order: `copy` text (in the line and the output), `skip` text (in
 * the line only), `emit` text (in the output only), and values (a pattern, copied or not).
 */
export class ShapeBuilder {
  private source = "^";
  private readonly constants: string[] = [""];
  private open = false;
  private pendingSource = "";
  private pendingText = "";

  copy(text: string): this {
    if (this.open) {
      this.pendingSource += escapeRegex(text);
      this.pendingText += text;
    } else {
      this.source += escapeRegex(text);
      this.constants[this.constants.length - 1] += text;
    }
    return this;
  }

  skip(text: string): this {
    this.close();
    this.source += escapeRegex(text);
    return this;
  }

  emit(text: string): this {
    this.close();
    this.constants[this.constants.length - 1] += text;
    return this;
  }

  tagValue(copied: boolean): this {
    return this.value(TAG_VALUE, copied);
  }

  fieldValue(kind: number, copied: boolean): this {
    return this.value(FIELD_VALUE[kind]!, copied);
  }

  timestamp(): this {
    return this.value(TIMESTAMP, true);
  }

  build(outcome: number, reason: string): LineShape {
    this.close();
    return { regex: new RegExp(this.source + "$"), outcome, reason, constants: this.constants };
  }

  private value(pattern: string, copied: boolean): this {
    if (!copied) {
      this.close();
      this.source += "(?:" + pattern + ")";
    } else if (this.open) {
      // The literals since the last copied value join its group: fewer pieces to put together.
      this.source += this.pendingSource + "(?:" + pattern + ")";
      this.pendingSource = "";
      this.pendingText = "";
    } else {
      this.source += "((?:" + pattern + ")";
      this.open = true;
      this.constants.push("");
    }
    return this;
  }

  private close(): void {
    if (!this.open) return;
    this.source += ")" + this.pendingSource;
    this.constants[this.constants.length - 1] += this.pendingText;
    this.open = false;
    this.pendingSource = "";
    this.pendingText = "";
  }
}

/** Per entry of a scanned line: kept, dropped, or (0 and up) the index of its new name. */
export const ENTRY_KEPT = -1;
export const ENTRY_DROPPED = -2;

/**
 * The shape of a line the scanner accepted, with what happens to each of its entries (`status`, or all
 * kept when undefined) and the escaped new measurement and key names. Undefined for lines whose names
 * hold escapes (left to the scanner).
 */
export function shapeOf(
  line: string,
  sc: LineScanner,
  status: Int32Array | undefined,
  measurement: string | undefined,
  newNames: readonly (string | null)[],
  outcome: number,
  reason: string,
): LineShape | undefined {
  if (sc.measurementEscaped) return undefined;
  const entries = sc.entries;
  const tagCount = sc.tagCount;
  const b = new ShapeBuilder();
  const raw = line.slice(0, sc.measurementEnd);
  if (measurement === undefined) b.copy(raw);
  else b.skip(raw).emit(measurement);
  for (let k = 0; k < tagCount; k++) {
    const base = k * STRIDE;
    if ((entries[base + 4]! & (FLAG_KEY_ESCAPED | FLAG_VALUE_ESCAPED)) !== 0) return undefined;
    const key = line.slice(entries[base], entries[base + 1]);
    const st = status === undefined ? ENTRY_KEPT : status[k]!;
    if (st === ENTRY_KEPT) b.copy("," + key + "=").tagValue(true);
    else if (st === ENTRY_DROPPED) b.skip("," + key + "=").tagValue(false);
    else b.copy(",").skip(key).emit(newNames[st]!).copy("=").tagValue(true);
  }
  b.copy(" ");
  // Fields left are joined by single commas, as the scanner's path writes them.
  let emitted = 0;
  for (let j = 0; j < sc.fieldCount; j++) {
    const k = tagCount + j;
    const base = k * STRIDE;
    if ((entries[base + 4]! & FLAG_KEY_ESCAPED) !== 0) return undefined;
    const key = line.slice(entries[base], entries[base + 1]);
    const kind = entries[base + 5]!;
    const st = status === undefined ? ENTRY_KEPT : status[k]!;
    if (st === ENTRY_DROPPED) {
      if (j > 0) b.skip(",");
      b.skip(key + "=").fieldValue(kind, false);
      continue;
    }
    if (j > 0) {
      if (emitted > 0) b.copy(",");
      else b.skip(",");
    }
    if (st === ENTRY_KEPT) b.copy(key + "=");
    else b.skip(key).emit(newNames[st]!).copy("=");
    b.fieldValue(kind, true);
    emitted++;
  }
  if (sc.timestampStart >= 0) b.copy(" ").timestamp();
  return b.build(outcome, reason);
}
