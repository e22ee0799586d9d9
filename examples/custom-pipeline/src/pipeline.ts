// The pipeline, one package per step and nothing of edr-plugin:
//
//   line protocol files -> edr-transform (parse, keep by prefix, tag, downsample, format)
//                       -> edr-queue (one durable queue per remote) -> edr-sink (one per remote) -> remotes
//
// Each remote drains its own queue: one that is down keeps its lines on disk, the others are not held up,
// and the next run sends what is left before anything newer.
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createQueue, type Queue } from "edr-queue";
import { createSink, type Sink, type SinkLogger } from "edr-sink";
import { createDownsampler, formatPoints, tryParseLines, type Point } from "edr-transform";
import type { PipelineSettings, RemoteSettings } from "./config.js";

/** Lines read from the queue and sent per `sink.write` call. */
const BATCH_ENTRIES = 5_000;
/** Shortest pause between two tries of a remote that did not take everything. */
const MIN_PAUSE_MS = 250;

/** What one run did. */
export interface RunReport {
  /** Lines read from the input files (blank and comment lines left out). */
  read: number;
  /** Lines that are not line protocol, with file, line, column and reason: reported, never queued. */
  invalid: string[];
  /** Points of tables without the prefix. */
  skipped: number;
  /** Points that went into the buckets, and the points the buckets made. */
  downsampled: number;
  emitted: number;
  /** What downsampling could not use (a point without a timestamp, a field changing type). */
  problems: string[];
  remotes: DeliveryReport[];
}

/** One remote's part of a run. */
export interface DeliveryReport {
  name: string;
  /** Lines appended to its queue in this run. */
  queued: number;
  delivered: number;
  /** Lines the remote refused for good; they are in its dead-letter file with the reason. */
  deadLettered: number;
  /** Lines still queued at the end of the run, and why. */
  left: number;
  reason: string | undefined;
}

/** Runs the pipeline once over `inputs` (none: only delivers what earlier runs left queued). */
export async function runPipeline(
  settings: PipelineSettings,
  inputs: readonly string[],
  logger: SinkLogger = { warn: console.warn, error: console.error },
): Promise<RunReport> {
  // Opening the queues first takes their locks, so two runs never send the same lines at once.
  const queues: Queue[] = [];
  try {
    for (const remote of settings.remotes)
      queues.push(await createQueue({ dir: settings.queueDir, name: `remote_${remote.name}` }));
    const report = await transformInputs(settings, inputs);
    const lines = report.lines;
    // Durable in every queue before anything is sent: a crash from here on loses nothing.
    const entries = lines.map((line, i) => ({ table: report.tables[i]!, line }));
    if (entries.length > 0) await Promise.all(queues.map((queue) => queue.append(entries)));
    const deadline = Date.now() + settings.deliverTimeoutMs;
    const remotes = await Promise.all(
      settings.remotes.map(async (remote, i) => ({
        ...(await deliver(remote, queues[i]!, settings.queueDir, deadline, logger)),
        queued: entries.length,
      })),
    );
    return { ...report.counts, remotes };
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

/** Parse, keep the tables with the prefix, tag the site, downsample across every input, format. */
async function transformInputs(settings: PipelineSettings, inputs: readonly string[]) {
  const downsampler = createDownsampler({
    intervalMs: settings.intervalMs,
    aggregations: settings.aggregations,
  });
  const counts = {
    read: 0,
    invalid: [] as string[],
    skipped: 0,
    downsampled: 0,
    emitted: 0,
    problems: [] as string[],
  };
  for (const input of inputs) {
    const { points, errors } = tryParseLines(await readFile(input, "utf8"));
    counts.read += points.length + errors.length;
    for (const error of errors) counts.invalid.push(`${input}: ${error.message}`); // names line and column
    const kept: Point[] = [];
    for (const point of points) {
      if (!point.measurement.startsWith(settings.prefix)) {
        counts.skipped++;
        continue;
      }
      point.tags["site"] = settings.site;
      kept.push(point);
    }
    const added = downsampler.add(kept);
    counts.downsampled += added.added;
    counts.problems.push(...added.problems);
  }
  const flushed = downsampler.flushAll();
  counts.problems.push(...flushed.problems);
  counts.emitted = flushed.points.length;
  return {
    counts,
    lines: formatPoints(flushed.points),
    tables: flushed.points.map((point) => point.measurement),
  };
}

/**
 * Sends one remote's queue, oldest first, until it is empty, the remote halts (401/403/404, TLS), or the
 * deadline. A batch is acknowledged only once each of its lines was delivered or refused for good (and the
 * refused ones written to the dead-letter file); a batch not wholly taken is sent again after the remote's
 * `Retry-After` (its delivered lines again too, which is harmless: an identical point is the same point).
 */
async function deliver(
  remote: RemoteSettings,
  queue: Queue,
  dir: string,
  deadline: number,
  logger: SinkLogger,
): Promise<Omit<DeliveryReport, "queued">> {
  const prefix = `[${remote.name}] `;
  const sink: Sink = createSink({
    url: remote.url,
    database: remote.database,
    token: remote.token,
    maxRetries: remote.maxRetries,
    logger: { warn: (m) => logger.warn(prefix + m), error: (m) => logger.error(prefix + m) },
  });
  // At the deadline a wait between retries ends at once: those lines come back not delivered.
  const timer = setTimeout(() => void sink.close(), Math.max(0, deadline - Date.now()));
  const report = {
    name: remote.name,
    delivered: 0,
    deadLettered: 0,
    left: 0,
    reason: undefined as string | undefined,
  };
  try {
    while (Date.now() < deadline) {
      const batch = await queue.read({ maxEntries: BATCH_ENTRIES });
      if (batch.entries.length === 0) break;
      const lines = batch.entries.map((entry) => entry.line);
      const result = await sink.write(lines).catch(() => undefined); // closed at the deadline
      if (result === undefined || result.notDelivered > 0) {
        queue.rewind();
        const missed = result?.outcomes.find((outcome) => outcome.kind === "not_delivered");
        report.reason = result?.halted ?? (missed?.kind === "not_delivered" ? missed.reason : "out of time");
        if (result === undefined || result.halted !== undefined) break;
        const pauseMs = Math.max(MIN_PAUSE_MS, (result.retryAt ?? 0) - Date.now());
        if (Date.now() + pauseMs >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        continue;
      }
      const letters = result.outcomes.flatMap((outcome, i) =>
        outcome.kind === "rejected"
          ? [
              {
                line: lines[i],
                status: outcome.status,
                reason: outcome.message,
                time: new Date().toISOString(),
              },
            ]
          : [],
      );
      if (letters.length > 0) await appendDurably(join(dir, `dead_letters_${remote.name}.jsonl`), letters);
      await queue.ack(batch);
      report.delivered += result.delivered;
      report.deadLettered += letters.length;
      report.reason = undefined;
    }
  } finally {
    clearTimeout(timer);
    await sink.close();
  }
  report.left = queue.stats().entries;
  if (report.left > 0) report.reason ??= "out of time";
  return report;
}

/** Appends JSON lines and fsyncs them: a refused line is on disk before its queue entry is acknowledged. */
async function appendDurably(path: string, records: readonly object[]): Promise<void> {
  const file = await open(path, "a", 0o600);
  try {
    await file.writeFile(records.map((record) => `${JSON.stringify(record)}\n`).join(""));
    await file.sync();
  } finally {
    await file.close();
  }
}
