// The shapes learnt for one table rule, and when to use them (see line-shape.ts for what a shape is).
import {
  SHAPE_EMPTIED,
  SHAPE_REJECTED,
  SHAPE_UNCHANGED,
  SHAPE_WRITE,
  shapeOf,
  type LineShape,
} from "./line-shape.js";
import type { LineScanner } from "./scanner.js";

/** What a rewrite returns for a line left with no field, and for a line rejected (the reason beside it). */
export const EMPTIED = "\u0000emptied";
export const REJECTED = "\u0000rejected";

// How many shapes are tried before the scanner, how many lines the scanner takes between two new shapes (so
// that lines of ever new shapes cost at most one regex build per so many lines), and the longest line tried.
const MAX_SHAPES = 4;
const SLOW_LINES_PER_SHAPE = 16;
const MAX_SHAPED_LINE = 1 << 16;
// When the shapes miss too often (lines of many shapes, interleaved), trying them costs more than it saves:
// judged every SHAPE_WINDOW lines, they are then left aside for SHAPE_PAUSE lines (measured on lines
// cycling through 6 to 1,000 shapes: without the pause, up to 3 times slower than the scanner alone).
const SHAPE_WINDOW = 256;
const SHAPE_PAUSE = 8192;

export class ShapeCache {
  /** The reason, when a shape rejected the line. */
  reason = "";
  /** Most recently used first. */
  private readonly shapes: LineShape[] = [];
  private slowLines = SLOW_LINES_PER_SHAPE - 1;
  private hits = 0;
  private misses = 0;
  private pause = 0;

  /**
   * The line rewritten by a learnt shape: new text, the line itself (unchanged), EMPTIED or REJECTED.
   * Undefined when no shape takes it: the scanner must.
   */
  rewrite(line: string): string | undefined {
    if (this.pause > 0) {
      this.pause--;
      return undefined;
    }
    const shapes = this.shapes;
    if (line.length <= MAX_SHAPED_LINE) {
      for (let s = 0; s < shapes.length; s++) {
        const shape = shapes[s]!;
        const out = this.rewriteShaped(line, shape);
        if (out === undefined) continue;
        if (s > 0) {
          shapes[s] = shapes[s - 1]!;
          shapes[s - 1] = shape;
        }
        if (++this.hits + this.misses >= SHAPE_WINDOW) this.judge();
        return out;
      }
    }
    if (++this.misses + this.hits >= SHAPE_WINDOW) this.judge();
    return undefined;
  }

  /**
   * After the scanner accepted `line` and rewrote it to `out` (with `status` per entry, see shapeOf), learns
   * its shape when it is time to.
   */
  learn(
    line: string,
    sc: LineScanner,
    status: Int32Array | undefined,
    measurement: string | undefined,
    newNames: readonly (string | null)[],
    out: string,
    reason: string,
  ): void {
    if (this.pause > 0 || ++this.slowLines < SLOW_LINES_PER_SHAPE || line.length > MAX_SHAPED_LINE) return;
    const outcome =
      out === EMPTIED
        ? SHAPE_EMPTIED
        : out === REJECTED
          ? SHAPE_REJECTED
          : out === line
            ? SHAPE_UNCHANGED
            : SHAPE_WRITE;
    const shape = shapeOf(line, sc, status, measurement, newNames, outcome, reason);
    if (shape === undefined) return;
    this.slowLines = 0;
    this.shapes.unshift(shape);
    if (this.shapes.length > MAX_SHAPES) this.shapes.pop();
  }

  /** Leaves the shapes aside for a while when more than a third of the window's lines missed them. */
  private judge(): void {
    if (this.misses * 2 > this.hits) this.pause = SHAPE_PAUSE;
    this.hits = 0;
    this.misses = 0;
  }

  private rewriteShaped(line: string, shape: LineShape): string | undefined {
    if (shape.outcome === SHAPE_WRITE) {
      const match = shape.regex.exec(line);
      if (match === null) return undefined;
      const constants = shape.constants;
      let out = constants[0]!;
      for (let g = 1; g < constants.length; g++) out += match[g]! + constants[g]!;
      return out;
    }
    if (!shape.regex.test(line)) return undefined;
    if (shape.outcome === SHAPE_UNCHANGED) return line;
    if (shape.outcome === SHAPE_EMPTIED) return EMPTIED;
    this.reason = shape.reason;
    return REJECTED;
  }
}
