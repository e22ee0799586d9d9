// Throughput of the hot paths, each measured beside its baseline in the same run. One JSON line per figure.
// The machines are shared: every figure is the best of several rounds.
import { parse as parseLossless } from "lossless-json";
import {
  createRowConverter,
  createTransform,
  downsample,
  formatPoint,
  parseLines,
  rowsToPoints,
  type ColumnInfo,
  type Point,
  type Row,
} from "../src/index.js";

const N = 100_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
// BENCH_ONLY=rows,rename runs only the sections whose names hold one of those words (the reference always runs).
const ONLY = process.env.BENCH_ONLY?.split(",");
const wanted = (section: string): boolean => ONLY === undefined || ONLY.some((w) => section.includes(w));

function cpuSeconds(fn: () => unknown): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/**
 * Best CPU time (seconds, user + system of this process) of `ours` and of `baseline`, run alternately so
 * that both see the same machine, after two warm-up rounds each. CPU time rather than wall time: on a
 * shared machine, wall time mostly measures the other processes.
 */
function bestPair(ours: () => unknown, baseline: () => unknown): [number, number] {
  for (let w = 0; w < 2; w++) {
    ours();
    baseline();
  }
  let a = Infinity;
  let b = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    a = Math.min(a, cpuSeconds(ours));
    b = Math.min(b, cpuSeconds(baseline));
  }
  return [a, b];
}

function report(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 1000) / 1000, unit }));
}

// Realistic lines: 2 tags, 5 fields of mixed types, ns timestamps, 50 hosts.
const lines: string[] = [];
for (let i = 0; i < N; i++) {
  lines.push(
    `cpu,host=server${String(i % 50).padStart(2, "0")},region=us-west usage_user=${(i % 1000) / 8},usage_system=3.25,usage_idle=84.${i % 100},count=${i}i,status="ok" ${1700000000000000000n + BigInt(i) * 1_000_000n}`,
  );
}
const text = lines.join("\n");

// 0. How fast this machine is right now: a bare charCodeAt loop over the same lines (no figure depends on it).
{
  let total = 0;
  const seconds = bestPair(
    () => {
      let sum = 0;
      for (const line of lines) for (let i = 0; i < line.length; i++) sum += line.charCodeAt(i);
      total += sum;
    },
    () => undefined,
  )[0];
  report("transform.reference_charcode_loop_lines_per_s", N / seconds, "lines/s");
  if (total < 0) console.log(total);
}

// 1. Passthrough: rules exist, but not for this table.
if (wanted("passthrough")) {
  const transform = createTransform({ excludedFields: new Map([["mem", new Set(["free"])]]) });
  const [ours, baseline] = bestPair(
    () => transform.lines(text.split("\n")).items.join("\n"),
    () => text.split("\n").join("\n"),
  );
  report("transform.passthrough_lines_per_s", N / ours, "lines/s");
  report("transform.passthrough_baseline_split_join_lines_per_s", N / baseline, "lines/s");
  report("transform.passthrough_time_vs_split_join", ours / baseline, "ratio (target <= 3)");
}

// 2. Rename + exclude on every line: scan, rename the table, a tag and a field, drop a field, write.
if (wanted("rename_exclude")) {
  const rules = {
    tablesRename: new Map([["cpu", "processor"]]),
    fieldRenames: new Map([
      [
        "cpu",
        new Map([
          ["usage_user", "user"],
          ["host", "server"],
        ]),
      ],
    ]),
    excludedFields: new Map([["cpu", new Set(["usage_idle"])]]),
  };
  const transform = createTransform(rules);
  // Baseline: the same through point objects (parse every line, transform points, format every point).
  const [ours, baseline] = bestPair(
    () => transform.lines(lines),
    () => transform.points(parseLines(text)).items.map(formatPoint),
  );
  report("transform.rename_exclude_lines_per_s", N / ours, "lines/s");
  report("transform.rename_exclude_baseline_points_path_lines_per_s", N / baseline, "lines/s");
  report("transform.rename_exclude_speedup_vs_points_path", baseline / ours, "ratio");
}

// 2b. The lightest edit: only the table renamed (still a full scan and check of every line).
if (wanted("rename_table")) {
  const transform = createTransform({ tablesRename: new Map([["cpu", "processor"]]) });
  const [ours, baseline] = bestPair(
    () => transform.lines(lines),
    () => transform.points(parseLines(text)).items.map(formatPoint),
  );
  report("transform.rename_table_lines_per_s", N / ours, "lines/s");
  report("transform.rename_table_baseline_points_path_lines_per_s", N / baseline, "lines/s");
}

// 3. Rows to line protocol: rows of 2 tags and 5 fields as the SQL endpoint sends them, parsed losslessly.
if (wanted("rows_to_lp")) {
  const columns: ColumnInfo[] = [
    { column_name: "host", data_type: "Dictionary(Int32, Utf8)" },
    { column_name: "region", data_type: "Dictionary(Int32, Utf8)" },
    { column_name: "usage_user", data_type: "Float64" },
    { column_name: "usage_system", data_type: "Float64" },
    { column_name: "usage_idle", data_type: "Float64" },
    { column_name: "count", data_type: "Int64" },
    { column_name: "status", data_type: "Utf8" },
    { column_name: "time", data_type: "Timestamp(ns)" },
  ];
  const jsonl: string[] = [];
  for (let i = 0; i < N; i++) {
    const ms = String(i % 1000).padStart(3, "0");
    jsonl.push(
      `{"count":${i},"host":"server${String(i % 50).padStart(2, "0")}","region":"us-west","status":"ok","time":"2025-04-18T14:${String(Math.floor(i / 60000) % 60).padStart(2, "0")}:${String(Math.floor(i / 1000) % 60).padStart(2, "0")}.${ms}","usage_idle":84.${i % 100},"usage_system":3.25,"usage_user":${(i % 1000) / 8}}`,
    );
  }
  const rows = jsonl.map((l) => parseLossless(l) as Row);
  const converter = createRowConverter("cpu", columns);
  const [ours, baseline] = bestPair(
    () => converter.toLines(rows),
    () => rowsToPoints("cpu", rows, columns).items.map(formatPoint),
  );
  report("transform.rows_to_lp_rows_per_s", N / ours, "rows/s");
  report("transform.rows_to_lp_baseline_points_path_rows_per_s", N / baseline, "rows/s");
  report("transform.rows_to_lp_speedup_vs_points_path", baseline / ours, "ratio");
}

// 4. Downsampling: 50 series, a point every 10 ms per series, 1 s buckets, default aggregations.
if (wanted("downsample")) {
  const points: Point[] = parseLines(text);
  const run = downsample({ intervalMs: 1000 });
  // Baseline: one pass that only reads every field of every point (the floor for any aggregation).
  let sink = 0;
  const [ours, baseline] = bestPair(
    () => run(points),
    () => {
      for (const p of points) for (const k in p.fields) if (p.fields[k]!.type === "float") sink += 1;
    },
  );
  report("transform.downsample_points_per_s", N / ours, "points/s");
  report("transform.downsample_baseline_read_fields_points_per_s", N / baseline, "points/s");
  report("transform.downsample_time_vs_read_fields", ours / baseline, "ratio");
  if (sink < 0) console.log(sink);
}
