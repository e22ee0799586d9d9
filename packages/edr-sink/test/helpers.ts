import { startInfluxDB3Server } from "edr-testkit";
import type { InfluxDB3TestServer } from "edr-testkit";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createSink } from "../src/index.js";
import type { Sink, SinkLogger, SinkOptions } from "../src/index.js";

/** A logger that keeps every message, for assertions. */
export interface RecordingLogger extends SinkLogger {
  lines: string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

/** A sleep that returns at once and records what it was asked to wait. */
export function recordingSleep(): { waits: number[]; sleep: NonNullable<SinkOptions["sleep"]> } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms) => {
      waits.push(ms);
    },
  };
}

/** One test server for the file, reset between tests; sinks made through `open` are closed after each test. */
export function useServer(options: Parameters<typeof startInfluxDB3Server>[0] = {}) {
  const state = { server: undefined as unknown as InfluxDB3TestServer };
  const sinks: Sink[] = [];
  beforeAll(async () => {
    state.server = await startInfluxDB3Server(options);
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    state.server.reset();
  });
  afterAll(async () => {
    await state.server.close();
  });
  return {
    get server() {
      return state.server;
    },
    open(overrides: Partial<SinkOptions> = {}): Sink {
      const sink = createSink({
        url: state.server.url,
        database: "db",
        logger: recordingLogger(),
        random: () => 0.5,
        sleep: async () => undefined,
        ...overrides,
      });
      sinks.push(sink);
      return sink;
    },
  };
}

/** Lines of `series` series, `perSeries` points each, interleaved in time order. */
export function makeLines(series: number, perSeries: number, measurement = "m"): string[] {
  const lines: string[] = [];
  for (let t = 0; t < perSeries; t++) {
    for (let s = 0; s < series; s++) lines.push(`${measurement},host=h${s} v=${t}i ${1_000_000 + t}`);
  }
  return lines;
}

/** Resolves once `cond` holds, polling on the event loop (not on timers, which a test may fake). */
export async function until(cond: () => boolean, limit = 100_000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error("condition never held");
}
