import type { Queue, QueueEntry } from "edr-queue";
import { QueueError } from "edr-queue";
import {
  createRowConverter,
  formatPoint,
  type ColumnInfo,
  type Point,
  type Row,
  type RowConverter,
  type Transform,
} from "edr-transform";
import type { Call } from "./call.js";
import { errorMessage } from "./call.js";
import type { Delivery } from "./delivery.js";
import type { StatusBook } from "./status.js";

/** Refusals logged one by one per call before they are only counted, so a flood of bad rows cannot flood the log. */
const LOGGED_REFUSALS = 20;

/**
 * The path every line takes to the queue, shared by scheduled and on-write calls: rows to lines (one converter
 * per table schema), the transform (filter, exclude, rename), the durable append, and the books. A line the
 * conversion or the transform refuses is counted and logged with its table and reason, never dropped silently.
 */
export class Pipeline {
  private readonly converters = new Map<string, { signature: string; converter: RowConverter }>();

  constructor(
    private readonly transform: Transform,
    private readonly queue: Queue,
    private readonly delivery: Delivery,
    private readonly book: StatusBook,
  ) {}

  /** The converter of a table's rows, rebuilt when its schema changed. */
  converter(table: string, columns: readonly ColumnInfo[]): RowConverter {
    const signature = columns.map((c) => `${c.column_name}\u0000${c.data_type}`).join("\u0001");
    const cached = this.converters.get(table);
    if (cached?.signature === signature) return cached.converter;
    this.transform.checkColumns(
      table,
      columns.map((c) => c.column_name),
    );
    const converter = createRowConverter(table, columns);
    this.converters.set(table, { signature, converter });
    return converter;
  }

  /** The converter cached for a table, if any (its schema may be out of date). */
  cachedConverter(table: string): RowConverter | undefined {
    return this.converters.get(table)?.converter;
  }

  /** Transforms lines of one table and appends them durably; returns how many were queued. */
  async queueLines(call: Call, table: string, lines: readonly string[]): Promise<number> {
    return this.queueTables(call, new Map([[table, lines]]));
  }

  /** Transforms the lines of several tables and appends them all in one durable append; returns how many. */
  async queueTables(call: Call, linesByTable: ReadonlyMap<string, readonly string[]>): Promise<number> {
    const entries: QueueEntry[] = [];
    for (const [table, lines] of linesByTable) {
      const out = this.transform.lines(lines);
      for (const rejection of out.rejected) this.refuse(call, table, "transform", rejection.reason);
      for (const line of out.items) entries.push({ table, line });
    }
    return this.append(call, entries);
  }

  /** Transforms points of one table, formats and appends them durably; returns how many were queued. */
  async queuePoints(call: Call, table: string, points: readonly Point[]): Promise<number> {
    const out = this.transform.points(points);
    for (const rejection of out.rejected) this.refuse(call, table, "transform", rejection.reason);
    const lines: string[] = [];
    for (const point of out.items) {
      try {
        lines.push(formatPoint(point));
      } catch (error) {
        this.refuse(call, table, "format", errorMessage(error));
      }
    }
    return this.append(
      call,
      lines.map((line) => ({ table, line })),
    );
  }

  /** Counts and logs the rows a converter refused. */
  refuseRows(
    call: Call,
    table: string,
    rows: readonly Row[],
    rejected: readonly { index: number; reason: string }[],
  ): void {
    for (const rejection of rejected) {
      const row = JSON.stringify(rows[rejection.index], (_key, value: unknown) =>
        typeof value === "bigint" ? value.toString() : value,
      );
      this.refuse(call, table, "row conversion", `${rejection.reason} (row ${row?.slice(0, 200)})`);
    }
  }

  /** Counts and logs a line that will not be replicated: never dropped silently. */
  refuse(call: Call, table: string | undefined, stage: string, reason: string): void {
    call.report.refused++;
    this.book.refused(table, stage);
    const of = table === undefined ? "" : ` of ${table}`;
    if (call.report.refused <= LOGGED_REFUSALS) call.log.warn(`refused a line${of} (${stage}): ${reason}`);
    else if (call.report.refused === LOGGED_REFUSALS + 1)
      call.log.warn("more lines refused in this call; counted in status");
  }

  /** Appends durably; when the queue is full, sends once to make room and tries again. */
  private async append(call: Call, entries: readonly QueueEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    try {
      await this.queue.append(entries);
    } catch (error) {
      if (!(error instanceof QueueError && error.code === "FULL")) throw error;
      await this.delivery.pass();
      await this.queue.append(entries);
    }
    this.countAccepted(call, entries);
    call.report.queued += entries.length;
    this.delivery.kick();
    return entries.length;
  }

  /** Counts the lines accepted per table (entries come in runs of one table), in the books and the call. */
  private countAccepted(call: Call, entries: readonly QueueEntry[]): void {
    let start = 0;
    for (let i = 1; i <= entries.length; i++) {
      if (i === entries.length || entries[i]!.table !== entries[start]!.table) {
        const table = entries[start]!.table;
        this.book.accepted(table, i - start);
        call.queuedTables.add(table);
        start = i;
      }
    }
  }
}
