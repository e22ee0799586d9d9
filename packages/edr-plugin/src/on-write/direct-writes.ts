import type { Call } from "../call.js";
import type { IntakeLine, WriteIntake } from "../listen/write-intake.js";
import type { Pipeline } from "../pipeline.js";

/** What {@link DirectWrites} works with. */
export interface DirectWritesParts {
  readonly pipeline: Pipeline;
  /** The tables replicated (`tables=`); lines of other tables are not kept. Undefined: all. */
  readonly tables: ReadonlySet<string> | undefined;
  /** Why writes must wait now (the queue is full). */
  readonly refusal: () => { retryAfterSeconds: number; reason: string } | undefined;
  /** Starts the call the lines written until the next flush are reported under. */
  readonly startCall: () => Call;
}

/**
 * On-write replication without downsampling: each write's lines go through the transform straight to the queue,
 * in one durable append, before the writer is answered. Nothing waits for a flush, so a line is written to disk
 * once; the flush interval only groups the log lines: the lines written since the last flush are reported as one
 * call (`Queued N lines from t1,t2`), as the engine's `process_writes` reported each WAL flush.
 */
export class DirectWrites implements WriteIntake {
  /** The call of the writes since the last flush, started by the first of them. */
  private rolling: Call | undefined;

  constructor(private readonly parts: DirectWritesParts) {}

  refusal(): { retryAfterSeconds: number; reason: string } | undefined {
    return this.parts.refusal();
  }

  accept(lines: readonly IntakeLine[]): Promise<number> {
    this.rolling ??= this.parts.startCall();
    return this.acceptInto(this.rolling, lines);
  }

  /** Queues the lines of the replicated tables under `call`, durably, in one append; resolves to how many. */
  async acceptInto(call: Call, lines: readonly IntakeLine[]): Promise<number> {
    const byTable = new Map<string, string[]>();
    let kept = 0;
    for (const { table, line } of lines) {
      if (this.parts.tables !== undefined && !this.parts.tables.has(table)) continue;
      let group = byTable.get(table);
      if (group === undefined) byTable.set(table, (group = []));
      group.push(line);
      kept++;
    }
    if (kept > 0) await this.parts.pipeline.queueTables(call, byTable);
    return kept;
  }

  /** The call of the writes since the last flush, to report; the next write starts a new one. */
  takeCall(): Call | undefined {
    const call = this.rolling;
    this.rolling = undefined;
    return call;
  }
}
