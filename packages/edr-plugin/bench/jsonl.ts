// Parsing the SQL endpoint's JSON lines: edr-plugin's scanner (numbers kept as exact text) beside
// `lossless-json`'s `parse` (what the reader would use otherwise) and `JSON.parse` (the floor: fast, but it
// loses int64 digits and the float/integer distinction), on the same rows in the same run. Each starts from
// the answer's bytes in 64 KB pieces, as the socket delivers them: the scanner reads bytes, the other two
// need the text decoded first. One JSON line per figure; each figure is the best of several tinybench
// samples (the machine is shared). Run by index.ts (`pnpm --filter edr-plugin bench jsonl` runs it alone).
import { StringDecoder } from "node:string_decoder";
import { parse as parseLossless } from "lossless-json";
import { Bench } from "tinybench";
import { JsonScanner } from "../src/readers/json-scanner.js";
import { LineBuffer } from "../src/readers/line-buffer.js";
import { emit } from "./emit.js";

const ROWS = Number(process.env.ROWS ?? 100_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 10);

/**
 * Rows as `/api/v3/query_sql?format=jsonl` prints them: columns in alphabetical order, a zone-less time
 * with a 3-digit fraction, 3 tags, 5 fields (floats, an int64 beyond 2^53 now and then, a whole float
 * printed `21.0`, a string with quotes, a backslash and non-ASCII text), a NULL column left out now and then.
 */
function makeJsonl(rows: number): string {
  const lines: string[] = [];
  const start = Date.parse("2025-04-18T14:00:00Z");
  for (let i = 0; i < rows; i++) {
    const time = new Date(start + i * 7).toISOString().slice(0, 23);
    const count = i % 97 === 0 ? `${9_007_199_254_740_993n + BigInt(i)}` : String(i * 31);
    const message =
      i % 10 === 0 ? `disk "sda${i % 4}" at ${i % 100}% \\ ünïcödé 漢字 ${i}` : `ok ${i % 1000}`;
    const row: string[] = [
      `"count":${count}`,
      `"cpu":"cpu${i % 8}"`,
      `"host":"edge-${String(i % 500).padStart(3, "0")}.example.com"`,
      `"message":${JSON.stringify(message)}`,
      `"region":"eu-west-${i % 3}"`,
      `"time":"${time}"`,
    ];
    if (i % 13 !== 0) row.push(`"usage_idle":${((i * 7919) % 10_000) / 100}`);
    row.push(`"usage_user":${i % 50 === 0 ? "21.0" : ((i * 104_729) % 1_000_000) / 1e6}`);
    row.push(`"up":${i % 3 !== 0}`);
    lines.push(`{${row.join(",")}}`);
  }
  return lines.join("\n") + "\n";
}

/** The body cut into the socket's 64 KB pieces (lines cross piece boundaries, as on the wire). */
function pieces(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += 65_536) out.push(body.subarray(at, at + 65_536));
  return out;
}

/** Every line of the pieces to `parseLine`, as the reader splits them (bytes, no copy within a piece). */
function eachLineOfBytes(
  body: readonly Buffer[],
  parseLine: (line: Buffer, start: number, end: number) => unknown,
): number {
  const lines = new LineBuffer();
  let count = 0;
  const onLine = (line: Buffer, start: number, end: number): void => {
    parseLine(line, start, end);
    count++;
  };
  for (const piece of body) lines.push(piece, onLine);
  return count;
}

/** Every line of the pieces to `parseLine` as text: each piece decoded (split characters kept whole), then split. */
function eachLineOfText(body: readonly Buffer[], parseLine: (line: string) => unknown): number {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let count = 0;
  for (const piece of body) {
    const text = pending + decoder.write(piece);
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      parseLine(text.slice(start, nl));
      count++;
      start = nl + 1;
    }
    pending = text.slice(start);
  }
  return count;
}

/** Prints the parser figures: the scanner beside lossless-json and JSON.parse on the same rows. */
export async function runJsonlBench(): Promise<void> {
  const body = pieces(Buffer.from(makeJsonl(ROWS)));
  const scanner = new JsonScanner();
  const parsers = {
    scanner: () => eachLineOfBytes(body, (line, start, end) => scanner.parseObject(line, start, end)),
    losslessJson: () => eachLineOfText(body, (line) => parseLossless(line)),
    jsonParse: () => eachLineOfText(body, (line): unknown => JSON.parse(line)),
  };
  for (const parse of Object.values(parsers)) {
    if (parse() !== ROWS) throw new Error("a parser did not read every row");
  }

  const bench = new Bench({ iterations: ITERATIONS, warmupIterations: 2, time: 0, warmupTime: 0 });
  for (const [name, parse] of Object.entries(parsers)) bench.add(name, parse);
  await bench.run();

  /** Rows per second of the fastest sample of a task: the least disturbed by other work on the machine. */
  function rowsPerSecond(name: string): number {
    const result = bench.getTask(name)?.result;
    if (result === undefined || !("latency" in result)) throw new Error(`${name}: no result`);
    return ROWS / (result.latency.min / 1000);
  }

  const scannerRate = rowsPerSecond("scanner");
  const losslessRate = rowsPerSecond("losslessJson");
  const jsonParseRate = rowsPerSecond("jsonParse");
  emit("plugin.jsonl_rows_per_s", scannerRate, "rows/s");
  emit("plugin.jsonl_lossless_json_rows_per_s", losslessRate, "rows/s");
  emit("plugin.jsonl_json_parse_rows_per_s", jsonParseRate, "rows/s");
  emit("plugin.jsonl_scanner_over_lossless_json_speedup", scannerRate / losslessRate, "x");
  emit("plugin.jsonl_scanner_over_json_parse_time_ratio", jsonParseRate / scannerRate, "x");
}
