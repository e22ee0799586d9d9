import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScheduledConfig, type ScheduledConfig } from "edr-args";
import {
  createReplicator,
  readDeadLetters,
  type CallReport,
  type DeadLetter,
  type ReplicatorLogger,
  type ReplicatorStatus,
} from "edr-plugin";
import { startInfluxDB3Server, type InfluxDB3TestServer, type StoredPoint } from "edr-testkit";
import { formatPoint } from "edr-transform";
import { makeSampleData } from "./sample-data.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where the story is told, one line at a time. @default console.log */
  say?: (line: string) => void;
  /** Directory for the queue, the dead-letter file and the watermarks. @default a new temp dir */
  workDir?: string;
}

/** What the demo did, for a test to check. */
export interface DemoSummary {
  config: ScheduledConfig;
  written: Map<string, number>;
  report: CallReport;
  status: ReplicatorStatus;
  remotePoints: Map<string, StoredPoint[]>;
  deadLetters: DeadLetter[];
}

const LOCAL_DB = "factory";
const REMOTE_DB = "central";
// Demo secrets: they must never show in the output (the trigger arguments are printed with them masked).
const REMOTE_TOKEN = "demo-remote-token-3f9a";
const LOCAL_TOKEN = "demo-local-token-81c2";

/** The trigger arguments of the demo, as a user would give them to the Python plugin, plus where to read. */
export function demoArguments(localUrl: string, remoteUrl: string, workDir: string): string {
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
    `local_host=${localUrl}`,
    `local_database=${LOCAL_DB}`,
    `local_token=${LOCAL_TOKEN}`,
  ].join(",");
}

/**
 * One scheduled replication of the last hour from a local InfluxDB 3 to a remote one, both embedded
 * (edr-testkit's InfluxDB-3-compatible server), run by edr-plugin's replicator: the trigger arguments parsed
 * by edr-args, the window read over `query_sql`, downsampled and renamed by edr-transform, queued durably by
 * edr-queue, delivered by edr-sink through a 503 and a 429, and the lines the remote refuses set aside in the
 * dead-letter file.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const say = options.say ?? console.log;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "edr-demo-")));
  const local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  const remote = await startInfluxDB3Server({ token: REMOTE_TOKEN, writeDelayMs: 20 });
  try {
    const args = demoArguments(local.url, remote.url, workDir);
    const config = parseScheduledConfig(args, { env: {} });
    say("edr demo: replicate a factory's last hour from a local InfluxDB 3 to a central one");
    say(`  local   ${local.url}  database "${LOCAL_DB}"   (embedded InfluxDB-3-compatible server)`);
    say(`  remote  ${remote.url}  database "${REMOTE_DB}"  (embedded, with a token)`);
    say(`  trigger arguments: ${mask(args).replaceAll(",", ", ")}`);

    const callTime = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const endMs = callTime.getTime() - config.offsetMs;
    const sample = makeSampleData(endMs - config.windowMs, endMs);
    await writeLines(local, LOCAL_DB, sample.lines, LOCAL_TOKEN);
    say(`\n1. Wrote ${n(sample.lines.length)} points to the local instance: ${perTable(sample.perTable)}`);

    // Someone else already wrote alarms.code to the remote as a string: our integer codes will conflict.
    await writeLines(
      remote,
      REMOTE_DB,
      [`alarms,line=Z code="E-17",text="seeded elsewhere" ${endMs - 2 * 3_600_000}000000`],
      REMOTE_TOKEN,
    );
    remote.faults.failNext(1, { status: 503, retryAfter: 1 });
    remote.faults.failNext(1, { status: 429, retryAfter: 1 });
    say(
      "\n2. One scheduled call, as `edr schedule` makes it; the remote answers the first write 503 and the\n" +
        "   second 429 (Retry-After: 1). The replicator's log:",
    );
    const replicator = await createReplicator(config, { logger: demoLogger(say) });
    let report: CallReport;
    let status: ReplicatorStatus;
    try {
      report = await replicator.processScheduledCall(callTime);
      status = replicator.status();
    } finally {
      await replicator.close();
    }

    const deadLetters: DeadLetter[] = [];
    for await (const letter of readDeadLetters(config.queue.dir, config.queue.name)) deadLetters.push(letter);
    say(
      `\n3. ${n(deadLetters.length)} lines refused by the remote, kept in the dead-letter file with its reason:`,
    );
    for (const letter of deadLetters) say(`   ${letter.line}  <- ${letter.status} ${letter.reason}`);

    const remotePoints = new Map<string, StoredPoint[]>();
    for (const table of ["machine", "power", "alarms"])
      remotePoints.set(table, remote.points(REMOTE_DB, table));
    showRemote(remotePoints, say);
    const { lines } = status;
    say(
      `\nAccounted for: ${n(lines.accepted)} queued = ${n(lines.delivered)} delivered + ` +
        `${n(lines.queued)} still queued + ${n(lines.deadLettered)} dead-lettered ${status.reconciled ? "(ok)" : "(MISMATCH)"}`,
    );
    say(
      `Queue, dead letters and watermarks: ${workDir} (try: pnpm edr queue inspect --queue-dir ${workDir})`,
    );
    return { config, written: sample.perTable, report, status, remotePoints, deadLetters };
  } finally {
    await Promise.all([local.close(), remote.close()]);
  }
}

/** The replicator's log lines, indented, with the sink's retries (debug) shown too. */
function demoLogger(say: (line: string) => void): ReplicatorLogger {
  return {
    debug: (message) => say(`   ${message}`),
    info: (message) => say(`   ${message}`),
    warn: (message) => say(`   WARN ${message}`),
    error: (message) => say(`   ERROR ${message}`),
  };
}

function showRemote(remotePoints: Map<string, StoredPoint[]>, say: (line: string) => void): void {
  say("\n4. The remote now holds:");
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
  token: string,
): Promise<void> {
  const url = `${server.url}/api/v3/write_lp?db=${db}&precision=nanosecond`;
  const headers = { authorization: `Bearer ${token}` };
  const response = await fetch(url, { method: "POST", body: lines.join("\n"), headers });
  if (response.status !== 204)
    throw new Error(`write to ${db} answered ${response.status}: ${await response.text()}`);
}

function mask(args: string): string {
  return args.replace(REMOTE_TOKEN, "<secret>").replace(LOCAL_TOKEN, "<secret>");
}

function perTable(counts: Map<string, number>): string {
  return [...counts].map(([table, count]) => `${table} ${n(count)}`).join(", ");
}

function n(value: number): string {
  return value.toLocaleString("en-US");
}
