// Compiled rules applied to points: a point whose table no rule touches is kept as the same object, any
// other is copied with its tags and fields renamed or dropped. Points are already parsed, so this path
// needs none of the line path's scanning or shapes, only each rule's map of names.
import { clashReason, type CompiledRules } from "./compiled-rule.js";
import { setEntry, type FieldValue, type Point } from "./point.js";
import type { Rejection, TransformResult } from "./transform.js";

/** Applies one transform's compiled rules to batches of points. */
export class PointRewriter {
  // Reused from point to point rather than allocated for each.
  private readonly pointOuts: string[] = [];
  private readonly pointRenames: string[] = [];

  constructor(private readonly rules: CompiledRules) {}

  rewriteBatch(points: readonly Point[]): TransformResult<Point> {
    const items: Point[] = [];
    const rejected: Rejection<Point>[] = [];
    let dropped = 0;
    let emptied = 0;
    for (let index = 0; index < points.length; index++) {
      const point = points[index]!;
      const rule = this.rules.tables.get(point.measurement) ?? this.rules.other;
      if (rule.keep) {
        items.push(point);
        continue;
      }
      if (rule.drop) {
        dropped++;
        continue;
      }
      const names = rule.names;
      const tags: Record<string, string> = {};
      const fields: Record<string, FieldValue> = {};
      // Source and output names, and the renames applied, to find a rename that repeats a name.
      const outs = this.pointOuts;
      const renamed = this.pointRenames;
      outs.length = 0;
      renamed.length = 0;
      for (const key in point.tags) {
        const mapped = names.get(key);
        if (mapped === null) continue;
        const out = mapped ?? key;
        if (mapped !== undefined) renamed.push(key, out);
        outs.push(key, out);
        setEntry(tags, out, point.tags[key]!);
      }
      let fieldCount = 0;
      for (const key in point.fields) {
        const mapped = names.get(key);
        if (mapped === null) continue;
        const out = mapped ?? key;
        if (mapped !== undefined) renamed.push(key, out);
        outs.push(key, out);
        setEntry(fields, out, point.fields[key]!);
        fieldCount++;
      }
      if (fieldCount === 0) {
        emptied++;
        continue;
      }
      let clash: string | undefined;
      for (let r = 0; r < renamed.length && clash === undefined; r += 2) {
        const target = renamed[r + 1]!;
        if (outs.indexOf(target) !== outs.lastIndexOf(target))
          clash = clashReason(point.measurement, renamed[r]!, target);
      }
      if (clash !== undefined) {
        rejected.push({ index, item: point, reason: clash });
        continue;
      }
      const next: Point = { measurement: rule.rename ?? point.measurement, tags, fields };
      if (point.timestamp !== undefined) next.timestamp = point.timestamp;
      items.push(next);
    }
    return { items, dropped, emptied, rejected };
  }
}
