// Compiled rules applied to lines of line protocol, the hot path of a transform. A line is looked up by its
// measurement text (runs of one table reuse the last lookup), and a line whose table no rule touches is
// kept as the same string, unparsed. Any other line is rewritten from a learnt shape (shape-cache.ts) when
// one matches, else scanned: its keys matched in place, the output built from slices of the line and the
// new names.
import { clashReason, type CompiledRule, type CompiledRules } from "./compiled-rule.js";
import { BACKSLASH, COMMA, HASH, NL, SPACE, TAB } from "./escape.js";
import { LineCollector } from "./line-collector.js";
import { ENTRY_DROPPED as DROPPED, ENTRY_KEPT as KEPT } from "./line-shape.js";
import { FLAG_KEY_ESCAPED, LineScanner, STRIDE } from "./scanner.js";
import { EMPTIED, REJECTED } from "./shape-cache.js";
import type { Rejection, TransformResult } from "./transform.js";
import { unescapeName } from "./unescape.js";

/** Applies one transform's compiled rules to batches of lines; holds the scratch state one batch reuses. */
export class LineRewriter {
  private readonly scanner = new LineScanner();
  private readonly collector = new LineCollector();

  constructor(private readonly rules: CompiledRules) {}

  rewriteBatch(lines: readonly string[]): TransformResult<string> {
    const items: string[] = [];
    const rejected: Rejection<string>[] = [];
    let dropped = 0;
    let emptied = 0;
    const collector = this.collector;
    collector.start(items);
    // Batches usually hold runs of one table: remember the last measurement's raw text and rule. A line that
    // starts with that text, then a comma or a space, has the same measurement: the text was read from the
    // start of a line with no leading whitespace, up to the comma or space that ended it. Empty until such a
    // measurement is read: no sentinel text will do, since a line may start with anything (`"\n cpu …"` is a
    // cpu line, once its leading whitespace is skipped).
    let lastRaw = "";
    let lastRule = this.rules.other;
    for (let index = 0; index < lines.length; index++) {
      let line = lines[index]!;
      let rule: CompiledRule;
      const after = line.charCodeAt(lastRaw.length);
      if ((after === COMMA || after === SPACE) && lastRaw.length !== 0 && line.startsWith(lastRaw)) {
        rule = lastRule;
      } else {
        const first = line.charCodeAt(0);
        if (first === SPACE || first === TAB || first === NL || first === HASH || line.length === 0) {
          line = trimLeading(line);
          if (line.length === 0) {
            dropped++;
            continue;
          }
        }
        let i = 0;
        let escaped = false;
        const n = line.length;
        for (; i < n; i++) {
          const c = line.charCodeAt(i);
          if (c === BACKSLASH) {
            escaped = true;
            i++;
          } else if (c === COMMA || c === SPACE) break;
        }
        if (i > n) i = n;
        const raw = line.slice(0, i);
        const name = escaped ? unescapeName(line, 0, i, true) : raw;
        rule = this.rules.tables.get(name) ?? this.rules.other;
        // Only a measurement ended by a comma or a space: one cut short by the end of the line, as in `cpu\`,
        // says nothing of the lines that start with it (`cpu\ x,t=a f=1` is table "cpu x").
        if (i > 0 && i < n) {
          lastRaw = raw;
          lastRule = rule;
        }
      }
      if (rule.keep) {
        items.push(line);
      } else if (rule.drop) {
        dropped++;
      } else {
        const out = this.rewrite(line, rule);
        if (out === EMPTIED) emptied++;
        else if (out === REJECTED) rejected.push({ index, item: line, reason: this.reason });
        else if (out === line) items.push(line);
        else collector.push(out);
      }
    }
    collector.finish();
    return { items, dropped, emptied, rejected };
  }

  private reason = "";

  /** Per entry of the scanned line: KEPT, DROPPED, or the index of its key rule when renamed. */
  private status = new Int32Array(64);

  private rewrite(line: string, rule: CompiledRule): string {
    const shapes = rule.shapes;
    const shaped = shapes.rewrite(line);
    if (shaped !== undefined) {
      if (shaped === REJECTED) this.reason = shapes.reason;
      return shaped;
    }
    const out = this.rewriteScanned(line, rule);
    if (this.scanned) {
      const status = rule.keyRules.length === 0 ? undefined : this.status;
      shapes.learn(line, this.scanner, status, rule.measurement, rule.newNames, out, this.reason);
    }
    return out;
  }

  /** Whether the last line given to the scanner was valid. */
  private scanned = false;

  private rewriteScanned(line: string, rule: CompiledRule): string {
    const sc = this.scanner;
    this.scanned = sc.scan(line, 0, line.length);
    if (!this.scanned) {
      this.reason = `column ${sc.errorAt + 1}: ${sc.errorReason}`;
      return REJECTED;
    }
    let pos = 0;
    // A rope of slices and new names: cheaper here than a flat copy (measured), flattened once by the
    // consumer when it joins lines into a request body.
    let out = "";
    if (rule.measurement !== undefined) {
      out = rule.measurement;
      pos = sc.measurementEnd;
    }
    const keyRules = rule.keyRules;
    if (keyRules.length === 0) return out + line.slice(pos);
    const entries = sc.entries;
    const tagCount = sc.tagCount;
    const total = tagCount + sc.fieldCount;
    if (this.status.length < total) this.status = new Int32Array(total * 2);
    const status = this.status;
    const byLength = rule.byLength;
    let renamed = 0;
    let emitted = 0;
    for (let k = 0; k < total; k++) {
      const base = k * STRIDE;
      const keyStart = entries[base]!;
      const keyEnd = entries[base + 1]!;
      let match = -1;
      if ((entries[base + 4]! & FLAG_KEY_ESCAPED) === 0) {
        const candidates = byLength[keyEnd - keyStart];
        if (candidates !== undefined) {
          for (let c = 0; c < candidates.length; c++) {
            const index = candidates[c]!;
            if (line.startsWith(keyRules[index]!.source, keyStart)) {
              match = index;
              break;
            }
          }
        }
      } else {
        match = rule.byName.get(unescapeName(line, keyStart, keyEnd, false)) ?? -1;
      }
      if (match < 0) {
        status[k] = KEPT;
        if (k >= tagCount) emitted++;
        continue;
      }
      const escapedOut = keyRules[match]!.escapedOut;
      if (escapedOut === null) {
        status[k] = DROPPED;
        if (k < tagCount || emitted > 0) {
          out += line.slice(pos, keyStart - 1); // drop ",key=value"
          pos = entries[base + 3]!;
        } else {
          out += line.slice(pos, keyStart); // drop "key=value," (or the only "key=value")
          pos = k + 1 < total ? entries[base + STRIDE]! : entries[base + 3]!;
        }
        continue;
      }
      status[k] = match;
      if (k >= tagCount) emitted++;
      out += line.slice(pos, keyStart) + escapedOut;
      pos = keyEnd;
      renamed++;
    }
    if (emitted === 0) return EMPTIED;
    if (renamed > 0) {
      const clash = this.findClash(line, rule, total);
      if (clash !== undefined) {
        this.reason = clash;
        return REJECTED;
      }
    }
    if (pos === 0) return line;
    return out + line.slice(pos);
  }

  /**
   * A renamed key equal to a key the line keeps would repeat that name; so would one name renamed twice (a
   * tag and a field of that name), as the points path sees it.
   */
  private findClash(line: string, rule: CompiledRule, total: number): string | undefined {
    const status = this.status;
    const entries = this.scanner.entries;
    for (let r = 0; r < total; r++) {
      if (status[r]! < 0) continue;
      const keyRule = rule.keyRules[status[r]!]!;
      const target = keyRule.out!;
      for (let k = 0; k < total; k++) {
        if (k !== r && status[k] === status[r]) return clashReason(rule.table, keyRule.source, target);
        if (status[k] !== KEPT) continue;
        const base = k * STRIDE;
        const keyStart = entries[base]!;
        const keyEnd = entries[base + 1]!;
        const same =
          (entries[base + 4]! & FLAG_KEY_ESCAPED) === 0
            ? keyEnd - keyStart === target.length && line.startsWith(target, keyStart)
            : unescapeName(line, keyStart, keyEnd, false) === target;
        if (same) return clashReason(rule.table, keyRule.source, target);
      }
    }
    return undefined;
  }
}

/** Skips leading whitespace and `#` comment lines, as the server's trim_leading does. */
function trimLeading(line: string): string {
  let start = 0;
  for (;;) {
    let c = 0;
    while (start < line.length && ((c = line.charCodeAt(start)) === SPACE || c === TAB || c === NL)) start++;
    if (start < line.length && line.charCodeAt(start) === HASH) {
      const newline = line.indexOf("\n", start);
      start = newline === -1 ? line.length : newline;
      continue;
    }
    return start === 0 ? line : line.slice(start);
  }
}
