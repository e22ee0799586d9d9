import type { ReplicatorStatus } from "../replicator-types.js";
import type { CommandContext } from "./command.js";
import type { FlagSpec } from "./flags.js";
import { formatAge, formatBytes, formatCount, formatCounts, formatRows } from "./format.js";
import { EXIT_FAILURE, EXIT_OK } from "./io.js";

/** Where `edr listen` (8182) and `edr schedule` (8183) serve their status by default. */
export const DEFAULT_STATUS_URLS = ["http://127.0.0.1:8182", "http://127.0.0.1:8183"] as const;

export const STATUS_FLAGS: Readonly<Record<string, FlagSpec>> = {
  url: {
    type: "string",
    value: "URL",
    description: "the edr to ask (default: edr listen on 127.0.0.1:8182 and edr schedule on 127.0.0.1:8183)",
  },
  json: { type: "boolean", description: "print the status JSON as it came" },
};

/** `edr status`: the state of a running edr, as a short table; exit 0 when healthy. */
export async function statusCommand(context: CommandContext): Promise<number> {
  const { flags, io } = context;
  if (context.problems.length > 0) return context.usageError();
  const url = typeof flags["url"] === "string" ? flags["url"] : undefined;
  const urls = url === undefined ? DEFAULT_STATUS_URLS : [url];
  const found: { url: string; status: ReplicatorStatus }[] = [];
  const failures: string[] = [];
  for (const base of urls) {
    const target = `${base.replace(/\/+$/, "")}/status`;
    try {
      const response = await fetch(target, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`answered ${response.status}`);
      found.push({ url: base, status: (await response.json()) as ReplicatorStatus });
    } catch (error) {
      failures.push(`${target}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (found.length === 0) {
    io.stderr(`edr: no edr answered: ${failures.join("; ")}\n`);
    return EXIT_FAILURE;
  }
  if (flags["json"] === true) {
    io.stdout(
      `${JSON.stringify(found.length === 1 ? found[0]!.status : found.map((f) => f.status), null, 2)}\n`,
    );
  } else {
    io.stdout(found.map(({ url: from, status }) => formatStatus(status, from)).join("\n\n") + "\n");
  }
  return found.every(({ status }) => status.state === "healthy") ? EXIT_OK : EXIT_FAILURE;
}

/** A status as a short table a person reads at a glance. */
export function formatStatus(status: ReplicatorStatus, from: string, nowMs = Date.now()): string {
  const { lines, queue } = status;
  const rows: [string, string][] = [];
  rows.push([
    "lag",
    status.lagSeconds === 0
      ? "none: nothing queued"
      : `${formatAge(status.lagSeconds * 1000)} (oldest queued line)`,
  ]);
  rows.push([
    "queue",
    `${formatCount(queue.entries)} lines, ${formatBytes(queue.bytes)} of ${formatBytes(queue.maxBytes)} (${queue.dir})`,
  ]);
  if (status.intake !== undefined) {
    const emitted =
      status.intake.emittedUntil === undefined ? "" : `; buckets emitted up to ${status.intake.emittedUntil}`;
    rows.push([
      "intake",
      `${formatCount(status.intake.entries)} written lines waiting for a flush${emitted}`,
    ]);
  }
  rows.push([
    "lines",
    `accepted ${formatCount(lines.accepted)}, delivered ${formatCount(lines.delivered)}, ` +
      `dead-lettered ${formatCount(lines.deadLettered)}, queued ${formatCount(lines.queued)}` +
      (lines.refused > 0 ? `, refused ${formatCount(lines.refused)}` : "") +
      (lines.late > 0 ? `, late ${formatCount(lines.late)}` : "") +
      (lines.duplicates > 0 ? `, duplicates ${formatCount(lines.duplicates)}` : "") +
      (lines.dropped > 0 ? `, dropped ${formatCount(lines.dropped)}` : "") +
      (lines.queuedAtStart > 0 ? ` (${formatCount(lines.queuedAtStart)} queued at start)` : "") +
      (status.reconciled ? "" : "  MISMATCH: the counters do not add up"),
  ]);
  if (Object.keys(status.deadLettersByStatus).length > 0)
    rows.push(["dead letters", `by status: ${formatCounts(status.deadLettersByStatus)}`]);
  if (Object.keys(status.refusedByReason).length > 0)
    rows.push(["refused", formatCounts(status.refusedByReason)]);
  rows.push([
    "requests",
    `${formatCount(status.requests)}` +
      (Object.keys(status.answersByStatus).length > 0 ? ` (${formatCounts(status.answersByStatus)})` : "") +
      (Object.keys(status.retriesByStatus).length > 0
        ? `; retried after ${formatCounts(status.retriesByStatus)}`
        : ""),
  ]);
  rows.push([
    "last success",
    status.lastSuccessTime === undefined
      ? "none yet"
      : `${status.lastSuccessTime} (${formatAge(Math.max(0, nowMs - Date.parse(status.lastSuccessTime)))} ago)`,
  ]);
  if (status.lastError !== undefined) rows.push(["last error", status.lastError]);
  const tables = Object.fromEntries(Object.entries(status.perTable).map(([table, c]) => [table, c.accepted]));
  if (Object.keys(tables).length > 0) rows.push(["tables", formatCounts(tables)]);
  const marks = Object.entries(status.watermarks);
  if (marks.length > 0)
    rows.push(["watermarks", marks.map(([table, time]) => `${table} ${time}`).join(", ")]);
  const state =
    status.reason === undefined ? status.state : `${status.state.split(":")[0]}: ${status.reason}`;
  return `edr ${status.mode === "writes" ? "listen" : "schedule"} at ${from}, since ${status.startedAt}: ${state}\n${formatRows(rows)}`;
}
