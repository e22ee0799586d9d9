import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScheduledConfig, type ScheduledConfig } from "edr-args";
import { createQueue, type QueueEntry } from "edr-queue";
import { createSink } from "edr-sink";
import { startInfluxDB3Server, type InfluxDB3TestServer, type StoredPoint } from "edr-testkit";
import { createTransform, downsample, formatPoint, rowsToPoints, type Point } from "edr-transform";
import { readDeadLetters } from "./dead-letter.js";
import { drainQueue, type DrainReport } from "./drain.js";
import { readTableWindow } from "./local-reader.js";
import { makeSampleData } from "./sample-data.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where the story is told, one line at a time. @default console.log */
  say?: (line: string) => void;
  /** Directory for the queue and the dead-letter file. @default a new temp dir */
  workDir?: string;
}

/** What the demo did, for a test to check. */
export interface DemoSummary {
  config: ScheduledConfig;
  written: Map<string, number>;
  rowsRead: Map<string, number>;
  queued: number;
  drain: DrainReport;
  queuedAfter: number;
  remotePoints: Map<string, StoredPoint[]>;
  deadLetterPath: string;
  /** `queued = delivered + still queued + dead-lettered`. */
  reconciled: boolean;
}

const LOCAL_DB = "factory";
const REMOTE_DB = "central";
// A demo secret: it must never show in the output (the trigger arguments are printed with it masked).
const REMOTE_TOKEN = "demo-remote-token-3f9a";

/** The trigger arguments of the demo, as a user would give them to the Python plugin. */
export function demoArguments(remoteUrl: string, workDir: string): string {
  return [
    `host=${remoteUrl}`,
    `token=${REMOTE_TOKEN}`,
    `database=${REMOTE_DB}`,
    "tables=machine.energy.alarms",
    "excluded_fields=machine:status",
    "tables_rename=energy:power",
    "field_renames=machine:temp_c@temperature",
    "aggregate_interval=1min",
    "aggregations=machine:rpm@max.energy:phase@last.alarms:code@last",
    "window=1h",
    "max_retries=2",
    `queue_dir=${workDir}`,
  ].join(",");
}

/**
 * One scheduled replication of the last hour from a local InfluxDB 3 to a remote one, both embedded
 * (edr-testkit's InfluxDB-3-compatible server), through every edr package: arguments parsed by edr-args,
 * rows read over `query_sql` and turned into points, downsampled and renamed by edr-transform, queued
 * durably by edr-queue, delivered by edr-sink through a 503 and a 429, with the lines the remote refuses
 * set aside in a dead-letter file.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const say = options.say ?? console.log;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "edr-demo-")));
  const local = await startInfluxDB3Server();
  const remote = await startInfluxDB3Server({ token: REMOTE_TOKEN, writeDelayMs: 20 });
  try {
    const args = demoArguments(remote.url, workDir);
    const config = parseScheduledConfig(args, { env: {} });
    say("edr demo: replicate a factory's last hour from a local InfluxDB 3 to a central one");
    say(`  local   ${local.url}  database "${LOCAL_DB}"   (embedded InfluxDB-3-compatible server)`);
    say(`  remote  ${remote.url}  database "${REMOTE_DB}"  (embedded, with a token)`);
    say(`  trigger arguments: ${args.replace(REMOTE_TOKEN, "<secret>").replaceAll(",", ", ")}`);

    const endMs = Math.floor(Date.now() / 60_000) * 60_000 - config.offsetMs;
    const startMs = endMs - config.windowMs;
    const sample = makeSampleData(startMs, endMs);
    await writeLines(local, LOCAL_DB, sample.lines);
    say(`\n1. Wrote ${n(sample.lines.length)} points to the local instance: ${perTable(sample.perTable)}`);

    // Someone else already wrote alarms.code to the remote as a string: our integer codes will conflict.
    await writeLines(
      remote,
      REMOTE_DB,
      [`alarms,line=Z code="E-17",text="seeded elsewhere" ${startMs - 3_600_000}000000`],
      REMOTE_TOKEN,
    );

    const { entries, rowsRead } = await readAndTransform(local, config, startMs, endMs, say);

    const queue = await createQueue({
      dir: config.queue.dir,
      name: "schedule",
      maxBytes: config.queue.maxBytes,
    });
    await queue.append(entries);
    say(
      `\n4. Queued ${n(entries.length)} lines, fsynced, in ${join(config.queue.dir, config.queue.fileName)}`,
    );

    remote.faults.failNext(1, { status: 503, retryAfter: 1 });
    remote.faults.failNext(1, { status: 429, retryAfter: 1 });
    say(
      "\n5. Draining to the remote, which answers the first write 503 and the second 429 (Retry-After: 1):",
    );
    const sinkSays = (message: string): void => {
      // The client's own failure lines repeat what edr-sink already says about each answer.
      if (!message.startsWith("[influxdb3-client]")) say(`   edr-sink: ${message}`);
    };
    const sink = createSink({
      ...config.remote,
      logger: { debug: sinkSays, info: sinkSays, warn: sinkSays, error: sinkSays },
    });
    const deadLetterPath = join(workDir, "edr_dead_letter.jsonl");
    const drain = await drainQueue(queue, sink, deadLetterPath);
    await sink.close();
    const queuedAfter = queue.stats().entries;
    await queue.close();
    say(
      `   ${n(drain.delivered)} lines delivered in ${drain.requests} requests, ` +
        `${n(drain.deadLettered)} refused by the remote and kept in ${deadLetterPath}`,
    );

    for (const letter of await readDeadLetters(deadLetterPath)) {
      say(`   dead letter: ${letter.line}  <- ${letter.status} ${letter.reason}`);
    }

    const remotePoints = new Map<string, StoredPoint[]>();
    for (const table of ["machine", "power", "alarms"]) {
      remotePoints.set(table, remote.points(REMOTE_DB, table));
    }
    showRemote(remotePoints, say);
    const reconciled = entries.length === drain.delivered + queuedAfter + drain.deadLettered;
    say(
      `\nAccounted for: ${n(entries.length)} queued = ${n(drain.delivered)} delivered + ` +
        `${n(queuedAfter)} still queued + ${n(drain.deadLettered)} dead-lettered ${reconciled ? "(ok)" : "(MISMATCH)"}`,
    );
    return {
      config,
      written: sample.perTable,
      rowsRead,
      queued: entries.length,
      drain,
      queuedAfter,
      remotePoints,
      deadLetterPath,
      reconciled,
    };
  } finally {
    await Promise.all([local.close(), remote.close()]);
  }
}

async function readAndTransform(
  local: InfluxDB3TestServer,
  config: ScheduledConfig,
  startMs: number,
  endMs: number,
  say: (line: string) => void,
): Promise<{ entries: QueueEntry[]; rowsRead: Map<string, number> }> {
  const tables = [...(config.transform.tables ?? [])];
  say(
    `\n2. Read [${new Date(startMs).toISOString()}, ${new Date(endMs).toISOString()}) of ${tables.join(", ")} over query_sql:`,
  );
  const transform = createTransform(config.transform);
  const downsampling = config.transform.downsampling;
  const bucket = downsampling && downsample(downsampling);
  const entries: QueueEntry[] = [];
  const rowsRead = new Map<string, number>();
  const notes: string[] = [];
  for (const table of tables) {
    const { columns, rows } = await readTableWindow(local.url, LOCAL_DB, table, startMs, endMs);
    rowsRead.set(table, rows.length);
    const converted = rowsToPoints(table, rows, columns);
    const points: Point[] = bucket ? bucket(converted.items).points : converted.items;
    const out = transform.points(points);
    for (const point of out.items) entries.push({ table, line: formatPoint(point) });
    notes.push(`${table} ${n(rows.length)} rows -> ${n(out.items.length)} lines`);
  }
  say(
    `   ${[...rowsRead].map(([table, count]) => `${table} ${n(count)} rows`).join(", ")} (debug_log is not in tables=)`,
  );
  say("\n3. Transformed: 1-minute buckets, machine.status dropped, temp_c -> temperature, energy -> power:");
  say(`   ${notes.join(", ")}`);
  return { entries, rowsRead };
}

function showRemote(remotePoints: Map<string, StoredPoint[]>, say: (line: string) => void): void {
  say("\n6. The remote now holds:");
  for (const [table, points] of remotePoints) {
    const last = points.at(-1);
    say(
      `   ${table}: ${n(points.length)} point${points.length === 1 ? "" : "s"}${last ? ", the last:" : ""}`,
    );
    if (last)
      say(
        `     ${formatPoint({ measurement: last.measurement, tags: last.tags, fields: last.fields, timestamp: last.timeNs })}`,
      );
  }
}

async function writeLines(
  server: InfluxDB3TestServer,
  db: string,
  lines: string[],
  token?: string,
): Promise<void> {
  const url = `${server.url}/api/v3/write_lp?db=${db}&precision=nanosecond`;
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(url, { method: "POST", body: lines.join("\n"), headers });
  if (response.status !== 204)
    throw new Error(`write to ${db} answered ${response.status}: ${await response.text()}`);
}

function perTable(counts: Map<string, number>): string {
  return [...counts].map(([table, count]) => `${table} ${n(count)}`).join(", ");
}

function n(value: number): string {
  return value.toLocaleString("en-US");
}
