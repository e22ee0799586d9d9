// pnpm bench: throughput of the sink to the edr-testkit server on loopback, beside a plain http.request
// loop doing the same work (join, gzip, POST, same batches and concurrency) in the same run, and under
// InfluxDB 3's ~1 s write latency, both as a stream of overlapping calls (a replicator draining its queue)
// and as one call. Prints one JSON line per figure; best of RUNS runs (the machine is shared).
import * as http from "node:http";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { Worker } from "node:worker_threads";
import { createSink, DEFAULT_BATCH_LINES, DEFAULT_GZIP_LEVEL, DEFAULT_MAX_IN_FLIGHT } from "../src/index.js";
import type { Sink, SinkOptions, WriteResult } from "../src/index.js";

const gzipAsync = promisify(gzip);
const RUNS = Number(process.env.RUNS ?? 5);
const WARMUP_RUNS = 3;
const LOOPBACK_LINES = Number(process.env.LOOPBACK_LINES ?? 200_000);
const LATENCY_LINES = Number(process.env.LATENCY_LINES ?? 400_000);
const NULL_LINES = Number(process.env.NULL_LINES ?? 1_000_000);
const NULL_LATENCY_LINES = Number(process.env.NULL_LATENCY_LINES ?? 1_600_000);
const STREAM_LINES = Number(process.env.STREAM_LINES ?? 1_600_000);
/** A replicator's chunk: one queue read, one `write` call. */
const STREAM_CALL_LINES = 100_000;
/** Calls unanswered at once: 2 x maxInFlight x batchLines lines, as the README advises. */
const STREAM_WINDOW = 8;
const SERIES = 1000;

function makeLines(n: number): string[] {
  const lines = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const s = i % SERIES;
    lines[i] =
      `bench,host=host${s},region=r${s % 7} usage=${(i % 1000) / 10},count=${i}i ${1_700_000_000_000_000_000 + i}`;
  }
  return lines;
}

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
}

/**
 * Collects garbage before a timed run (the bench runs with --expose-gc), so that one run does not pay
 * for the garbage of the run before it: the floor leaves ~16 MB of joined strings behind.
 */
function settleHeap(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const quiet: SinkOptions["logger"] = { warn: () => undefined, error: (m) => console.error(m) };

/** A write target: the edr-testkit server, or a null server that drains bodies and answers 204. */
interface Target {
  url: string;
  reset(): Promise<void>;
}

/** Time a new sink takes to deliver `lines` in one call. */
async function timeSink(server: Target, lines: string[], extra: Partial<SinkOptions> = {}) {
  const sink = createSink({ url: server.url, database: "bench", logger: quiet, ...extra });
  try {
    return await timeWrite(sink, server, lines);
  } finally {
    await sink.close();
  }
}

/** Time `sink` takes to deliver `lines` in one call. */
async function timeWrite(sink: Sink, server: Target, lines: string[]) {
  await server.reset();
  const started = performance.now();
  const result = await sink.write(lines);
  const seconds = (performance.now() - started) / 1000;
  if (result.delivered !== lines.length)
    throw new Error(`sink delivered ${result.delivered} of ${lines.length}`);
  return seconds;
}

/**
 * Time to deliver `lines` as a stream of `callLines`-line calls with up to `window` calls unanswered,
 * the way a replicator drains its queue: it writes the next chunk while earlier ones are in flight.
 */
async function timeSinkStream(server: Target, lines: string[], callLines: number, window: number) {
  await server.reset();
  const sink = createSink({ url: server.url, database: "bench", logger: quiet });
  const started = performance.now();
  const pending: Promise<WriteResult>[] = [];
  let delivered = 0;
  for (let from = 0; from < lines.length; from += callLines) {
    if (pending.length === window) delivered += (await pending.shift()!).delivered;
    pending.push(sink.write(lines.slice(from, from + callLines)));
  }
  for (const result of await Promise.all(pending)) delivered += result.delivered;
  const seconds = (performance.now() - started) / 1000;
  await sink.close();
  if (delivered !== lines.length) throw new Error(`sink delivered ${delivered} of ${lines.length}`);
  return seconds;
}

/** The floor: what a hand-written loop costs for the same batches, with none of the sink's bookkeeping. */
async function timeFloor(server: Target, lines: string[]) {
  await server.reset();
  const agent = new http.Agent({ keepAlive: true, maxSockets: DEFAULT_MAX_IN_FLIGHT });
  const url = new URL(server.url);
  const path = "/api/v3/write_lp?db=bench&precision=nanosecond&accept_partial=true";
  const batches: string[][] = [];
  for (let i = 0; i < lines.length; i += DEFAULT_BATCH_LINES)
    batches.push(lines.slice(i, i + DEFAULT_BATCH_LINES));
  const post = async (batch: string[]) => {
    const body = await gzipAsync(Buffer.from(batch.join("\n")), { level: DEFAULT_GZIP_LEVEL });
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          hostname: url.hostname,
          port: url.port,
          path,
          method: "POST",
          agent,
          headers: {
            "content-encoding": "gzip",
            "content-length": body.length,
            "content-type": "text/plain",
          },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 204 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: DEFAULT_MAX_IN_FLIGHT }, async () => {
      while (next < batches.length) await post(batches[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
}

/** Answers every request with 204 after draining it (and after `delayMs`): the sink's own ceiling. */
async function startNullServer(delayMs = 0): Promise<Target & { close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (delayMs > 0) setTimeout(() => res.writeHead(204).end(), delayMs);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    reset: async () => undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The sink beside the floor, best of RUNS. One sink serves every run, as a replicator keeps its sink: it
 * learns that this remote answers at once, and then sends while it plans (see the README).
 */
async function compare(target: Target, lines: string[], prefix: string): Promise<void> {
  const sink = createSink({ url: target.url, database: "bench", logger: quiet });
  try {
    // Warm up both paths on the whole sample: the sink's planning loop takes a few runs to be optimized,
    // and a run in the middle of that is measuring the JIT, not the sink.
    for (let w = 0; w < WARMUP_RUNS; w++) {
      await timeWrite(sink, target, lines);
      await timeFloor(target, lines);
    }
    let sinkBest = Infinity;
    let floorBest = Infinity;
    for (let r = 0; r < RUNS; r++) {
      settleHeap();
      floorBest = Math.min(floorBest, await timeFloor(target, lines));
      settleHeap();
      sinkBest = Math.min(sinkBest, await timeWrite(sink, target, lines));
    }
    emit(`${prefix}lines_per_s`, lines.length / sinkBest, "lines/s");
    emit(`${prefix}floor_http_request_lines_per_s`, lines.length / floorBest, "lines/s");
    emit(`${prefix}sink_over_floor_time_ratio`, sinkBest / floorBest, "x");
  } finally {
    await sink.close();
  }
}

/** The edr-testkit server, started in a worker thread (see server-worker.ts). */
interface WorkerServer extends Target {
  inOrder(): Promise<boolean>;
  close(): Promise<void>;
}

async function startWorkerServer(options: { writeDelayMs?: number } = {}): Promise<WorkerServer> {
  // Workers ignore `--import tsx`: the worker registers tsx itself, then loads the TypeScript module.
  const bootstrap = `(async () => {
    const { register } = await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))});
    register();
    await import(${JSON.stringify(new URL("./server-worker.ts", import.meta.url).href)});
  })();`;
  const worker = new Worker(bootstrap, { eval: true, workerData: options });
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const url = await new Promise<string>((resolve, reject) => {
    worker.once("error", reject);
    pending.set(0, (value) => resolve(value as string));
    worker.on("message", (m: { id: number; value: unknown }) => {
      pending.get(m.id)?.(m.value);
      pending.delete(m.id);
    });
  });
  const call = (op: string) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      worker.postMessage({ id, op });
    });
  return {
    url,
    reset: async () => {
      await call("reset");
    },
    inOrder: async () => (await call("inOrder")) as boolean,
    close: async () => {
      await call("close");
      await worker.terminate();
    },
  };
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? "all";
  if (which === "all" || which === "loopback") {
    if (which === "all" || !process.env.SKIP_TESTKIT) {
      const server = await startWorkerServer();
      try {
        await compare(server, makeLines(LOOPBACK_LINES), "sink.");
      } finally {
        await server.close();
      }
    }
    const nullServer = await startNullServer();
    try {
      await compare(nullServer, makeLines(NULL_LINES), "sink.null_server.");
    } finally {
      await nullServer.close();
    }
  }
  if (which === "all" || which === "latency") {
    const slow = await startWorkerServer({ writeDelayMs: 1000 });
    try {
      const stream = makeLines(STREAM_LINES);
      const many = stream.slice(0, LATENCY_LINES);
      let best = Infinity;
      let oneCall = Infinity;
      let ordered = true;
      for (let r = 0; r < Math.min(RUNS, 2); r++) {
        best = Math.min(best, await timeSinkStream(slow, stream, STREAM_CALL_LINES, STREAM_WINDOW));
        ordered &&= await slow.inOrder();
        oneCall = Math.min(oneCall, await timeSink(slow, many));
        ordered &&= await slow.inOrder();
      }
      emit("sink.lines_per_s_at_1s_latency", STREAM_LINES / best, "lines/s");
      emit("sink.lines_per_s_at_1s_latency_one_call", LATENCY_LINES / oneCall, "lines/s");
      emit("sink.series_reordered_at_1s_latency", ordered ? 0 : 1, "bool");
      if (!ordered) process.exitCode = 1;
    } finally {
      await slow.close();
    }
    const slowNull = await startNullServer(1000);
    try {
      const many = makeLines(NULL_LATENCY_LINES);
      let best = Infinity;
      for (let r = 0; r < Math.min(RUNS, 2); r++) best = Math.min(best, await timeSink(slowNull, many));
      const oneInFlight = await timeSink(slowNull, many, { maxInFlight: 1 });
      emit("sink.null_server.lines_per_s_at_1s_latency", NULL_LATENCY_LINES / best, "lines/s");
      emit(
        "sink.null_server.lines_per_s_at_1s_latency_one_in_flight",
        NULL_LATENCY_LINES / oneInFlight,
        "lines/s",
      );
      emit("sink.null_server.in_flight_speedup_at_1s_latency", oneInFlight / best, "x");
    } finally {
      await slowNull.close();
    }
  }
}

await main();
