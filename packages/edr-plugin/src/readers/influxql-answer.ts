// The answer of the v1 `/query` endpoint, streamed: with `chunked=true` InfluxDB 1.x and InfluxDB 3 send
// one JSON document per line (`{"results":[{"statement_id":0,"series":[{"name","columns","values"}]}]}`),
// each with at most `chunk_size` rows, so memory stays bounded by a chunk whatever the query returns.
import { JsonScanner } from "./json-scanner.js";
import { LineBuffer } from "./line-buffer.js";
import { streamAnswer, type LocalQuery } from "./local-http.js";
import { describeStatementError, lineExcerpt, localReadError } from "./read-errors.js";

/** One series of a statement's result, as the server sent it (numbers as exact text). */
export interface InfluxQLSeries {
  name: string;
  columns: string[];
  values: unknown[][];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Yields every series of the answer to `query` (one statement), in order, as its documents arrive.
 * Rejects with a `LOCAL_READ` PluginError for a statement error (InfluxDB 1.x answers those with a 200),
 * a malformed document, and an answer that ends while its last document said more was to come
 * (`"partial": true`), besides everything `streamAnswer` rejects for.
 */
export async function* streamInfluxQLSeries(
  query: LocalQuery,
): AsyncGenerator<InfluxQLSeries, void, undefined> {
  const { subject, source } = query;
  const fail = (detail: string, cause?: unknown): Error =>
    localReadError(subject, detail, source.token, cause);
  const scanner = new JsonScanner();
  const lines = new LineBuffer();
  let documents = 0;
  let partial = false;
  let ready: InfluxQLSeries[] = [];

  const onDocument = (bytes: Buffer, start: number, end: number): void => {
    documents++;
    let document: unknown;
    try {
      document = scanner.parse(bytes, start, end);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw fail(
        `document ${documents} of the answer is not valid JSON (${why}): ${lineExcerpt(bytes, start, end)}`,
        error,
      );
    }
    if (!isObject(document)) throw fail(`document ${documents} of the answer is not a JSON object`);
    if (typeof document["error"] === "string") {
      throw fail(describeStatementError(document["error"], source.database));
    }
    const results = document["results"];
    if (!Array.isArray(results)) throw fail(`document ${documents} of the answer has no "results" list`);
    for (const result of results) {
      if (!isObject(result)) throw fail(`a result in document ${documents} is not a JSON object`);
      if (typeof result["error"] === "string") {
        throw fail(describeStatementError(result["error"], source.database));
      }
      partial = result["partial"] === true;
      const series = result["series"] ?? [];
      if (!Array.isArray(series)) throw fail(`"series" in document ${documents} is not a list`);
      for (const one of series) ready.push(checkSeries(one, documents, fail));
    }
  };

  for await (const piece of streamAnswer(query)) {
    lines.push(piece, onDocument);
    if (ready.length > 0) {
      const series = ready;
      ready = [];
      yield* series;
    }
  }
  const rest = lines.rest();
  // JSON documents delimit themselves: a last one without its newline is whole if it parses.
  if (rest.toString("latin1").trim() !== "") onDocument(rest, 0, rest.length);
  yield* ready;
  if (partial) {
    throw fail('the answer was cut short: its last document was marked "partial", but no more followed');
  }
}

function checkSeries(series: unknown, document: number, fail: (detail: string) => Error): InfluxQLSeries {
  if (
    !isObject(series) ||
    !Array.isArray(series["columns"]) ||
    !series["columns"].every((c) => typeof c === "string")
  ) {
    throw fail(`a series in document ${document} has no list of column names`);
  }
  const values = series["values"] ?? [];
  if (!Array.isArray(values) || !values.every((row) => Array.isArray(row))) {
    throw fail(`a series in document ${document} has "values" that are not a list of rows`);
  }
  const name = series["name"];
  return {
    name: typeof name === "string" ? name : "",
    columns: series["columns"],
    values: values as unknown[][],
  };
}
