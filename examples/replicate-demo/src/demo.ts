import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScheduledConfig, parseWritesConfig } from "edr-args";
import { readDeadLetters, type DeadLetter, type ReplicatorStatus } from "edr-plugin";
import {
  sortStoredPoints,
  startInfluxDB3Server,
  type InfluxDB3TestServer,
  type StoredPoint,
} from "edr-testkit";
import { createTransform, formatPoint, type Point, type Transform } from "edr-transform";
import { startEdr, type EdrProcess } from "./edr-process.js";
import { alarmLine, energyLine, machineLines } from "./sample-data.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where the story is told, one line at a time. @default console.log */
  say?: (line: string) => void;
  /** Directory for the queues, dead letters and watermarks. @default a new temp dir */
  workDir?: string;
  /** How long the factory writes, in ms (the remote is away for the middle part). @default 9000 */
  writeMs?: number;
}

/** What one edr process did, from its `/status`. */
export interface ProcessReport {
  written: number;
  status: ReplicatorStatus;
  exitCode: number | null;
}

/** What the demo did, for a test to check. */
export interface DemoSummary {
  listen: ProcessReport;
  schedule: ProcessReport;
  /** Per remote table: points expected from the local instance (transformed) and points the remote holds. */
  compared: { table: string; expected: number; matching: boolean }[];
  deadLetters: DeadLetter[];
  /** Every line accounted for and the remote equal to the local instance, as transformed. */
  ok: boolean;
  output: string[];
}

const LOCAL_DB = "factory";
const REMOTE_DB = "central";
// Demo secrets: they never show in the output (the arguments are printed with them masked).
const REMOTE_TOKEN = "demo-remote-token-3f9a";
const LOCAL_TOKEN = "demo-local-token-81c2";

/**
 * A factory's edge, live: machines write through `edr listen` (replicated on write), an energy meter writes to
 * the local instance directly and `edr schedule` copies its table every 2 s. Both run as the `edr` command
 * does, between two embedded InfluxDB-3-compatible servers (edr-testkit's). The remote goes away for a few
 * seconds and comes back; the remote already holds `alarms.code` as a string, so the alarms are refused and
 * kept in the dead-letter file. At the end: what was written, queued, retried, dead-lettered and delivered, and
 * whether the remote holds exactly what the local instance holds (as transformed).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const output: string[] = [];
  const print = options.say ?? console.log;
  const say = (line: string): void => {
    output.push(line);
    print(line);
  };
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "edr-demo-")));
  const writeMs = options.writeMs ?? 9000;
  const local = await startInfluxDB3Server({ token: LOCAL_TOKEN });
  const remote = await startInfluxDB3Server({ token: REMOTE_TOKEN, writeDelayMs: 20 });
  const running: EdrProcess[] = [];
  try {
    say("edr demo: a factory's edge replicates to the central InfluxDB 3, through an outage");
    say(`  local   ${local.url}  database "${LOCAL_DB}"   (embedded InfluxDB-3-compatible server)`);
    say(`  remote  ${remote.url}  database "${REMOTE_DB}"  (embedded, with its own token)`);
    // Someone else already wrote alarms.code to the remote as a string: our integer codes will conflict.
    await write(
      remote,
      REMOTE_DB,
      `alarms,line=Z code="E-17" ${BigInt(Date.now() - 86_400_000) * 1_000_000n}`,
      REMOTE_TOKEN,
    );

    const listenArgs =
      `host=${remote.url},database=${REMOTE_DB},tables=machine.alarms,excluded_fields=machine:status,` +
      `field_renames=machine:temp_c@temperature,max_retries=1,queue_dir=${workDir}`;
    // offset=1s: a run copies the window that ended a second ago, so a point stamped just before a tick but
    // stored just after it is still copied (with no offset, such a point falls in a window already read).
    const scheduleArgs =
      `host=${remote.url},database=${REMOTE_DB},tables=energy,tables_rename=energy:power,window=2s,offset=1s,` +
      `max_retries=1,queue_dir=${workDir}`;
    const env = { EDR_REMOTE_TOKEN: REMOTE_TOKEN, EDR_LOCAL_TOKEN: LOCAL_TOKEN };
    const show = (line: string): boolean =>
      /WARN|ERROR|edr (listen|schedule):|Queued [1-9]\d* lines from .*alarms|resumed/.test(line) &&
      !/point your clients|lines queued at start/.test(line);

    say(
      "\n1. Two edr processes start, as you would run them (tokens in EDR_REMOTE_TOKEN / EDR_LOCAL_TOKEN):",
    );
    say(`   edr listen --local-url ${local.url} --local-db ${LOCAL_DB} --trigger-arguments "${listenArgs}"`);
    say(
      `   edr schedule --trigger-spec every:2s --local-url ${local.url} --local-db ${LOCAL_DB} --trigger-arguments "${scheduleArgs}"`,
    );
    const [listen, schedule] = await Promise.all([
      startEdr(
        "listen",
        [
          "listen",
          "--listen",
          "127.0.0.1:0",
          "--local-url",
          local.url,
          "--local-db",
          LOCAL_DB,
          "--trigger-arguments",
          listenArgs,
        ],
        env,
        { say, show },
      ),
      startEdr(
        "schedule",
        [
          "schedule",
          "--trigger-spec",
          "every:2s",
          "--status-address",
          "127.0.0.1:0",
          "--local-url",
          local.url,
          "--local-db",
          LOCAL_DB,
          "--trigger-arguments",
          scheduleArgs,
        ],
        env,
        { say, show },
      ),
    ]);
    running.push(listen, schedule);

    say(
      `\n2. For ${writeMs / 1000} s, 6 machines write through edr listen and a meter writes energy to the local instance;`,
    );
    say(
      `   after ${Math.round(writeMs / 3000)} s the remote goes away (connections refused) for ${Math.round(writeMs / 2250)} s, then comes back:`,
    );
    const written = { listen: 0, schedule: 0 };
    let lastEnergyMs = 0;
    const started = Date.now();
    const outage = (async () => {
      await sleep(writeMs / 3);
      await remote.faults.refuse();
      say(`   -- ${elapsed(started)}  the remote is down`);
      await sleep(writeMs / 2.25);
      await remote.faults.accept();
      say(`   -- ${elapsed(started)}  the remote is back`);
    })();
    for (let tick = 0; Date.now() - started < writeMs; tick++) {
      const nowMs = Date.now();
      const lines = machineLines(tick, nowMs);
      if (tick % 25 === 5) lines.push(alarmLine(tick, nowMs));
      await write(listen.statusUrl, LOCAL_DB, lines.join("\n"), LOCAL_TOKEN);
      written.listen += lines.length;
      await write(local, LOCAL_DB, energyLine(tick, nowMs), LOCAL_TOKEN);
      written.schedule += 1;
      lastEnergyMs = nowMs;
      await sleep(100);
    }
    await outage;

    say("\n3. The writers stop; both edr processes finish sending what they queued:");
    await until(async () => {
      const [l, s] = await Promise.all([listen.status(), schedule.status()]);
      const copied = Date.parse(s.watermarks["energy"] ?? "1970-01-01T00:00:00Z") > lastEnergyMs;
      return l.lines.queued === 0 && l.intake?.entries === 0 && s.lines.queued === 0 && copied;
    }, 30_000);
    const statuses = [await listen.status(), await schedule.status()] as const;
    const exitCodes = [await listen.stop(), await schedule.stop()];
    running.length = 0;

    const deadLetters: DeadLetter[] = [];
    for await (const letter of readDeadLetters(workDir, "writes")) deadLetters.push(letter);
    const compared = compare(local, remote, [
      {
        table: "machine",
        remoteTable: "machine",
        transform: createTransform(parseWritesConfig(listenArgs, { env }).transform),
      },
      {
        table: "energy",
        remoteTable: "power",
        transform: createTransform(parseScheduledConfig(scheduleArgs, { env }).transform),
      },
    ]);
    const report: DemoSummary = {
      listen: { written: written.listen, status: statuses[0], exitCode: exitCodes[0] ?? null },
      schedule: { written: written.schedule, status: statuses[1], exitCode: exitCodes[1] ?? null },
      compared,
      deadLetters,
      ok: false,
      output,
    };
    report.ok = tellReport(report, say);
    say(
      `\nQueues, dead letters and watermarks: ${workDir} (try: pnpm edr queue inspect --queue-dir ${workDir})`,
    );
    return report;
  } finally {
    await Promise.allSettled(running.map((p) => p.stop()));
    await Promise.all([local.close(), remote.close()]);
  }
}

/** The local instance's points of each table, transformed as edr does, against what the remote holds. */
function compare(
  local: InfluxDB3TestServer,
  remote: InfluxDB3TestServer,
  tables: { table: string; remoteTable: string; transform: Transform }[],
): DemoSummary["compared"] {
  return tables.map(({ table, remoteTable, transform }) => {
    const points: Point[] = local.points(LOCAL_DB, table).map((p) => ({
      measurement: p.measurement,
      tags: p.tags,
      fields: p.fields,
      timestamp: p.timeNs,
    }));
    const expected = transform.points(points).items.map(formatPoint).sort();
    const held = sortStoredPoints(remote.points(REMOTE_DB, remoteTable)).map(storedLine).sort();
    return {
      table: remoteTable,
      expected: expected.length,
      matching: JSON.stringify(held) === JSON.stringify(expected),
    };
  });
}

function storedLine(p: StoredPoint): string {
  return formatPoint({ measurement: p.measurement, tags: p.tags, fields: p.fields, timestamp: p.timeNs });
}

/** The short report; true when every line is accounted for and the remote matches the local instance. */
function tellReport(report: DemoSummary, say: (line: string) => void): boolean {
  const rows = [
    ["", "written", "queued", "requests", "dead-lettered", "delivered", "still queued"],
    ...(["listen", "schedule"] as const).map((name) => {
      const { written, status } = report[name];
      // Answers other than stored (204) or a partial write's verdict: refused connections, 5xx, timeouts.
      const failed = Object.entries(status.answersByStatus)
        .filter(([code]) => !["204", "400", "422"].includes(code))
        .reduce((sum, [, count]) => sum + count, 0);
      return [
        `edr ${name}`,
        n(written),
        n(status.lines.accepted),
        `${n(status.requests)} (${n(failed)} failed)`,
        n(status.lines.deadLettered),
        n(status.lines.delivered),
        n(status.lines.queued),
      ];
    }),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  say("\n4. What happened:");
  for (const row of rows)
    say(
      `   ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("   ")}`,
    );
  for (const letter of report.deadLetters)
    say(`   dead letter: ${letter.line}  <- ${letter.status} ${letter.reason}`);
  const accounted = (["listen", "schedule"] as const).every((name) => {
    const { status } = report[name];
    return status.reconciled && status.lines.queued === 0 && report[name].exitCode === 0;
  });
  say("\n5. The remote against the local instance (its points, filtered, excluded and renamed as edr does):");
  for (const { table, expected, matching } of report.compared)
    say(
      `   ${table.padEnd(8)} ${n(expected)} points expected: ${matching ? "the remote holds exactly these" : "MISMATCH"}`,
    );
  say(
    `   alarms   ${n(report.deadLetters.length)} refused by the remote (code is a string there): in the dead-letter file, with the reason`,
  );
  const ok = accounted && report.compared.every((c) => c.matching);
  say(
    ok
      ? "\nEvery line is accounted for: delivered, or dead-lettered with the remote's reason; none lost, none left queued."
      : "\nSOMETHING IS NOT ACCOUNTED FOR: see above.",
  );
  return ok;
}

async function write(
  target: InfluxDB3TestServer | string,
  db: string,
  body: string,
  token: string,
): Promise<void> {
  const base = typeof target === "string" ? target : target.url;
  const response = await fetch(`${base}/api/v3/write_lp?db=${db}&precision=nanosecond`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
    body,
  });
  if (response.status !== 204)
    throw new Error(`write to ${db} answered ${response.status}: ${await response.text()}`);
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`edr did not finish sending within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function elapsed(started: number): string {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

function n(value: number): string {
  return value.toLocaleString("en-US");
}
