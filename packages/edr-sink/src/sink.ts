// The sink: `write` calls planned into the lanes, and the lanes that send their batches one after another.
// A call's lines go to their series' lane in call order, in slices, so that full batches leave while later
// lines are planned; a lane holds back what follows a piece that was not delivered, and a halt or `close()`
// stops every call written so far (a new generation starts). What becomes of one request once a lane sends
// it (retries, 413 splits, bisecting, partial writes, halts) is piece-sender.ts.
import { BatchPlanner, fitsOneBatch, isSkippableLine } from "./batching.js";
import type { BatchLimits, PlannedBatch } from "./batching.js";
import { BodyEncoder } from "./body.js";
import type { BodyCompression } from "./body.js";
import { Call, createGeneration, generationOf, settlePiece } from "./call.js";
import type { Generation } from "./call.js";
import { SinkError } from "./errors.js";
import { linesRunTogether } from "./line-ends.js";
import { resolveOptions } from "./options.js";
import type { ResolvedSinkOptions, SinkOptions } from "./options.js";
import { DELIVERED, summariseOutcomes } from "./outcome.js";
import type { NotDeliveredOutcome, WriteResult } from "./outcome.js";
import { PieceSender } from "./piece-sender.js";
import type { Prepared } from "./piece-sender.js";

/** Writes line protocol to one remote database and says what became of every line. */
export interface Sink {
  /**
   * Sends `lines` (line protocol, one point each, no newline at the end) and resolves when every line has
   * an outcome: delivered, rejected (for good, with the remote's status and reason) or not delivered (try
   * again at `retryAt`). Never rejects because of the remote's answer; throws a SinkError only for a
   * programming error (not an array of strings, or the sink is closed). Calls may overlap: their lines
   * share the lanes in call order, so a series keeps its order across calls, and results resolve in
   * call order.
   */
  write(lines: readonly string[]): Promise<WriteResult>;
  /** `halted: <reason>` while the remote refuses every write (401/403/404, TLS), else undefined. */
  readonly halted: string | undefined;
  /** Ends pending retry waits (their lines come back not delivered), waits for requests in flight, frees sockets. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Lines planned between two turns of the event loop: a few milliseconds, so that answers and finished
 * gzips of the lanes are not kept waiting while a burst of calls is planned.
 */
const PLAN_SLICE_LINES = 10_000;
/**
 * Bytes a lane gathers before it sends early to a remote that answers quickly: enough that a request is
 * worth its overhead (~4k lines of 70 bytes).
 */
const EARLY_BATCH_BYTES = 256 * 1024;

/**
 * One of `maxInFlight` lanes. The lines of a series always go to the same lane, and a lane sends one
 * request at a time, in order, so no series is ever reordered. Lanes live as long as the sink: while a
 * request is in flight, the lines of later calls gather in the lane's open batch, so the next request
 * leaves full the moment the answer comes, instead of each call ending on half-empty requests.
 */
interface Lane {
  readonly index: number;
  /** Full batches waiting, in order. */
  readonly ready: PlannedBatch<Call>[];
  /** True while `runLane` is sending. */
  running: boolean;
  /**
   * Set when a request of this lane was not delivered: its later lines may hold later points of the
   * same series, so they are held back too, until no call is left unanswered (the caller then sends the
   * not-delivered lines again, before newer ones).
   */
  held: NotDeliveredOutcome | undefined;
}

/** Creates a sink for one remote database. Throws a SinkError listing every invalid option. */
export function createSink(options: SinkOptions): Sink {
  const opts = resolveOptions(options);
  return new RemoteSink(opts);
}

class RemoteSink implements Sink {
  /** Sends the lanes' pieces and acts on the answers; owns the transport and the client. */
  private readonly sender: PieceSender;
  /**
   * `batchBytes` is lowered after a 413 (by the sender) so that later batches stop being bodies the remote
   * refuses.
   */
  private readonly limits: BatchLimits;
  private readonly compression: BodyCompression;
  private readonly planner: BatchPlanner<Call>;
  private readonly lanes: Lane[];
  private generation: Generation;
  /** Calls whose result has not resolved yet, in call order. */
  private readonly unanswered = new Set<Call>();
  /** Calls whose lines are not all handed to lanes yet; a lane sends a batch that is not full only at 0. */
  private planning = 0;
  private planned: Promise<void> = Promise.resolve();
  private lastResult: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ResolvedSinkOptions) {
    this.limits = { batchLines: opts.batchLines, batchBytes: opts.batchBytes };
    this.compression = { level: opts.gzipLevel, thresholdBytes: opts.gzipThresholdBytes };
    this.sender = new PieceSender(opts, this.limits, this.compression, (outcome, reason) =>
      this.stopGeneration(outcome, reason),
    );
    this.lanes = Array.from({ length: opts.maxInFlight }, (_, index) => ({
      index,
      ready: [],
      running: false,
      held: undefined,
    }));
    this.planner = new BatchPlanner<Call>(
      opts.maxInFlight,
      this.limits,
      (lane, batch) => this.enqueue(this.lanes[lane]!, batch),
      (call, index) => call.settle(index, DELIVERED),
      () => new BodyEncoder(this.compression),
    );
    this.generation = createGeneration(false);
  }

  get halted(): string | undefined {
    return this.sender.halted;
  }

  write(lines: readonly string[]): Promise<WriteResult> {
    if (this.closing) return Promise.reject(new SinkError("CLOSED", "write: the sink is closed"));
    if (!Array.isArray(lines)) {
      return Promise.reject(
        new SinkError(
          "INVALID_ARGUMENT",
          `write: expected an array of line-protocol strings, got ${typeof lines}`,
        ),
      );
    }
    for (let i = 0; i < lines.length; i++) {
      if (typeof lines[i] !== "string") {
        return Promise.reject(
          new SinkError("INVALID_ARGUMENT", `write: line ${i}: expected a string, got ${typeof lines[i]}`),
        );
      }
    }
    if (this.unanswered.size === 0) for (const lane of this.lanes) lane.held = undefined;
    const call = new Call(lines, this.generation);
    this.unanswered.add(call);
    this.planning++;
    this.planned = this.planned
      .then(() => this.plan(call))
      .catch((error: unknown) => call.abort(error))
      .finally(() => {
        this.planning--;
        call.markPlanned();
        if (this.planning === 0) for (const lane of this.lanes) this.kick(lane);
      });
    const result = this.resultOf(call, this.lastResult);
    this.lastResult = result.catch(() => undefined);
    return result;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopGeneration(this.sender.notDelivered("sink closed before these lines were sent", 0, false));
      await this.lastResult;
      await this.sender.close();
    })();
    return this.closing;
  }

  /** The call's result, once its lines all have outcomes and the calls before it have resolved. */
  private async resultOf(call: Call, previous: Promise<unknown>): Promise<WriteResult> {
    try {
      await call.done;
    } finally {
      await previous;
      this.unanswered.delete(call);
    }
    return summariseOutcomes(call.outcomes, call.halted, call.requests);
  }

  /**
   * Hands the call's lines to the lanes, in slices so that full batches leave while later lines are
   * planned. A call that fits in one request and finds the lanes idle goes as one request instead of
   * one per lane; the calls after it wait for its answer.
   */
  private async plan(call: Call): Promise<void> {
    const { lines, generation } = call;
    if (generation.stopped) return call.settleFrom(0, generation.stopped);
    if (
      this.planning === 1 &&
      this.lanesIdle() &&
      fitsOneBatch(lines, this.limits) &&
      !linesRunTogether(lines)
    ) {
      return this.sendAlone(call);
    }
    for (let from = 0; from < lines.length; from += PLAN_SLICE_LINES) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      if (generation.stopped) return call.settleFrom(from, generation.stopped);
      this.planner.add(call, lines, from, Math.min(lines.length, from + PLAN_SLICE_LINES));
      this.sendEarly();
    }
  }

  /**
   * A lane sends only full batches while lines are being planned, so that against InfluxDB 3, which
   * answers after ~1 s, each round trip carries as much as it can. A remote that answers quickly gains
   * nothing from the wait: there an idle lane sends what it has gathered, and the remote works on it
   * while the rest of the call is planned.
   */
  private sendEarly(): void {
    if (!this.sender.answersQuickly) return;
    for (const lane of this.lanes) {
      if (lane.running || lane.ready.length > 0) continue;
      if (this.planner.openBytes(lane.index) < EARLY_BATCH_BYTES) continue;
      this.enqueue(lane, this.planner.take(lane.index)!);
    }
  }

  private lanesIdle(): boolean {
    return this.lanes.every(
      (lane) =>
        !lane.running &&
        lane.held === undefined &&
        lane.ready.length === 0 &&
        this.planner.openLines(lane.index) === 0,
    );
  }

  /** Sends a call's lines as one request (none of them runs into the next: see `plan`). */
  private async sendAlone(call: Call): Promise<void> {
    const indices: number[] = [];
    for (let i = 0; i < call.lines.length; i++) {
      if (isSkippableLine(call.lines[i]!)) call.settle(i, DELIVERED);
      else indices.push(i);
    }
    if (indices.length === 0) return;
    const held = await this.sender.sendPiece([{ owner: call, indices }]);
    // Its lines span every lane: each lane holds back later points of their series.
    if (held) for (const lane of this.lanes) lane.held ??= this.heldBehind(held);
  }

  private enqueue(lane: Lane, batch: PlannedBatch<Call>): void {
    lane.ready.push(batch);
    this.kick(lane);
  }

  private kick(lane: Lane): void {
    if (lane.running) return;
    if (lane.ready.length === 0 && (this.planning > 0 || this.planner.openLines(lane.index) === 0)) return;
    lane.running = true;
    this.runLane(lane).catch((error: unknown) => {
      for (const call of this.unanswered) call.abort(error);
    });
  }

  /** The lane's next request: a full batch, or, once nothing is left to plan, whatever is open. */
  private nextBatch(lane: Lane): PlannedBatch<Call> | undefined {
    return lane.ready.shift() ?? (this.planning === 0 ? this.planner.take(lane.index) : undefined);
  }

  private async runLane(lane: Lane): Promise<void> {
    // While one request is in flight, the next body is encoded and gzipped, so it leaves the moment the
    // answer comes.
    let next: Prepared | undefined;
    try {
      for (let batch = this.nextBatch(lane); batch !== undefined; batch = this.nextBatch(lane)) {
        const { piece } = batch;
        const ahead = next?.piece === piece ? next : undefined;
        // A body prepared for a batch that is not this one (a stop emptied the lane) is not sent.
        if (next !== undefined && ahead === undefined) this.sender.discard(next);
        next = undefined;
        const stop = generationOf(piece).stopped ?? lane.held;
        if (stop) {
          if (ahead) this.sender.discard(ahead);
          dropBatch(batch, stop);
          continue;
        }
        const prepared = ahead ?? this.sender.prepare(batch);
        const sending = this.sender.sendPiece(piece, prepared);
        const upcoming = lane.ready[0];
        if (upcoming !== undefined && !generationOf(upcoming.piece).stopped) {
          next = this.sender.prepare(upcoming);
        }
        const held = await sending;
        if (held) lane.held ??= this.heldBehind(held);
      }
    } finally {
      if (next) this.sender.discard(next);
      lane.running = false;
    }
  }

  private heldBehind(held: NotDeliveredOutcome): NotDeliveredOutcome {
    return this.sender.notDelivered(
      `held back behind lines of the same series that were not delivered: ${held.reason}`,
      held.retryAt - this.opts.now(),
      false,
    );
  }

  /**
   * Stops every call written so far: pending waits end, batches waiting in the lanes get `outcome`, and
   * requests in flight keep their real answer. Calls written later start a new generation, which, after
   * a halt, first sends one request alone; until no call is left unanswered, every lane holds back their
   * lines, as a lane that could not deliver does.
   */
  private stopGeneration(outcome: NotDeliveredOutcome, halted?: string): void {
    const stopped = this.generation;
    stopped.stopped = outcome;
    stopped.stop.abort();
    this.generation = createGeneration(halted !== undefined);
    for (const call of this.unanswered) {
      if (call.generation === stopped && !call.settled) call.halted ??= halted;
    }
    for (const lane of this.lanes) {
      for (const batch of lane.ready.splice(0)) dropBatch(batch, outcome);
      const open = this.planner.take(lane.index);
      if (open) dropBatch(open, outcome);
      // Lines of the stopped calls come back not delivered from every lane (and from the part of a call
      // not planned yet), so a call written after the stop must not overtake them in any lane.
      lane.held ??= this.heldBehind(outcome);
    }
  }
}

/** Settles a batch that will not be sent, and frees its body. */
function dropBatch(batch: PlannedBatch<Call>, outcome: NotDeliveredOutcome): void {
  batch.body?.discard();
  settlePiece(batch.piece, outcome);
}
