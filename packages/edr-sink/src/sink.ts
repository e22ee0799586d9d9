import { InfluxDBClient } from "@influxdata/influxdb3-client";
import { STORED, answerFromError, describeAnswer } from "./answer.js";
import type { Answer } from "./answer.js";
import { BatchPlanner, lanesFor } from "./batching.js";
import type { Batch } from "./batching.js";
import { registerClientLogging, unregisterClientLogging, withClientLogging } from "./client-logging.js";
import { SinkError } from "./errors.js";
import { resolveOptions } from "./options.js";
import type { ResolvedSinkOptions, SinkOptions } from "./options.js";
import { DELIVERED, fillOutcomes as fill, summariseOutcomes } from "./outcome.js";
import type { LineOutcome, NotDeliveredOutcome, RejectedOutcome, WriteResult } from "./outcome.js";
import { parsePartialWrite } from "./partial-write.js";
import { decideRetry } from "./retry-policy.js";
import type { RetryPolicyOptions } from "./retry-policy.js";
import { SinkTransport } from "./transport.js";

/** Writes line protocol to one remote database and says what became of every line. */
export interface Sink {
  /**
   * Sends `lines` (line protocol, one point each, no newline at the end) and resolves when every line has
   * an outcome: delivered, rejected (for good, with the remote's status and reason) or not delivered (try
   * again at `retryAt`). Never rejects because of the remote's answer; throws a SinkError only for a
   * programming error (not an array of strings, or the sink is closed). Calls run one after another, so
   * the points of a series keep their order across calls too.
   */
  write(lines: readonly string[]): Promise<WriteResult>;
  /** `halted: <reason>` while the remote refuses every write (401/403/404, TLS), else undefined. */
  readonly halted: string | undefined;
  /** Ends pending retry waits (their lines come back not delivered), waits for requests in flight, frees sockets. Safe to call twice. */
  close(): Promise<void>;
}

/** State of one write call, shared by its lanes. */
interface Call {
  lines: readonly string[];
  outcomes: LineOutcome[];
  stop: AbortController;
  stopped: NotDeliveredOutcome | undefined;
  halted: string | undefined;
  requests: number;
  /** While the sink is halted, the first request goes alone and the others wait for its answer. */
  probe: Probe | undefined;
}

/** The one request a halted sink sends first. */
interface Probe {
  taken: boolean;
  answered: Promise<void>;
  resolve: () => void;
}

/** The smallest `batchBytes` a 413 can teach the sink. */
const MIN_LEARNED_BATCH_BYTES = 64 * 1024;
/** Lines planned between two turns of the event loop. */
const PLAN_SLICE_LINES = 50_000;

/** A batch with its body text, built once and reused by its retries. */
interface Prepared {
  batch: Batch;
  body: string;
}

/** One lane of a call: its batches waiting, the loop sending them, and what holds the rest back. */
interface Lane {
  queue: Batch[];
  /** True while `running` is sending the queue. */
  active: boolean;
  running: Promise<void> | undefined;
  held: NotDeliveredOutcome | undefined;
}

/** Creates a sink for one remote database. Throws a SinkError listing every invalid option. */
export function createSink(options: SinkOptions): Sink {
  const opts = resolveOptions(options);
  return new RemoteSink(opts);
}

class RemoteSink implements Sink {
  halted: string | undefined;
  private readonly transport: SinkTransport;
  private readonly client: InfluxDBClient;
  private readonly policy: RetryPolicyOptions;
  private readonly redact: (text: string) => string;
  private readonly logRoute: ReturnType<typeof registerClientLogging>;
  private readonly calls = new Set<Call>();
  /** `batchBytes`, lowered after a 413 so that later calls stop sending bodies the remote refuses. */
  private batchBytes: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ResolvedSinkOptions) {
    this.batchBytes = opts.batchBytes;
    const token = opts.token;
    this.redact =
      token === undefined
        ? (text) => text
        : (text) => (text.includes(token) ? text.split(token).join("***") : text);
    this.transport = new SinkTransport({ ...opts, token, maxSockets: opts.maxInFlight });
    // The token stays in the transport's headers only: the client gets an empty one.
    this.client = new InfluxDBClient({
      host: opts.baseUrl.href,
      token: "",
      database: opts.database,
      transport: this.transport,
      writeTimeout: opts.timeoutMs,
      writeOptions: { precision: "ns", gzipThreshold: opts.gzipThresholdBytes },
    });
    this.policy = {
      maxRetries: opts.maxRetries,
      backoffBaseMs: opts.backoffBaseMs,
      backoffMaxMs: opts.backoffMaxMs,
      random: opts.random,
      now: opts.now,
    };
    this.logRoute = registerClientLogging(opts.logger, this.redact);
    if (opts.baseUrl.protocol === "https:" && !opts.verifySsl) {
      opts.logger.warn(
        `TLS certificate verification is off for ${opts.baseUrl.host} (verify_ssl=false): anyone on the path can read and change what is sent`,
      );
    }
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
    const run = this.queue.then(() => this.runCall(lines));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const reason = this.notDelivered("sink closed before these lines were sent", 0, false);
      for (const call of this.calls) this.stopCall(call, reason);
      await this.queue;
      await this.client.close();
      this.transport.close();
      unregisterClientLogging(this.logRoute);
    })();
    return this.closing;
  }

  private async runCall(lines: readonly string[]): Promise<WriteResult> {
    const n = lines.length;
    const outcomes = new Array<LineOutcome>(n);
    const call: Call = {
      lines,
      outcomes,
      stop: new AbortController(),
      stopped: undefined,
      halted: undefined,
      requests: 0,
      probe: this.halted === undefined ? undefined : createProbe(),
    };
    if (this.closing) {
      const closed = this.notDelivered("sink closed before these lines were sent", 0, false);
      outcomes.fill(closed);
      return summariseOutcomes(call.outcomes, call.halted, call.requests);
    }
    for (let i = 0; i < n; i++) {
      if (typeof lines[i] !== "string") {
        throw new SinkError(
          "INVALID_ARGUMENT",
          `write: line ${i}: expected a string, got ${typeof lines[i]}`,
        );
      }
    }
    this.calls.add(call);
    try {
      await this.planAndSend(call);
    } finally {
      this.calls.delete(call);
    }
    if (call.halted !== undefined) {
      this.halted = call.halted;
    } else if (this.halted !== undefined && outcomes.some((o) => o.kind === "delivered")) {
      this.opts.logger.info?.(`resumed: a write succeeded after ${this.halted}`);
      this.halted = undefined;
    }
    return summariseOutcomes(call.outcomes, call.halted, call.requests);
  }

  /**
   * Plans the call in slices and starts each lane's first request as soon as its batch is full, so the
   * network and gzip (on libuv's threads) overlap the planning of later lines.
   */
  private async planAndSend(call: Call): Promise<void> {
    const { lines } = call;
    const limits = { batchLines: this.opts.batchLines, batchBytes: this.batchBytes };
    const laneCount = lanesFor(lines, this.opts.maxInFlight, limits);
    const lanes: Lane[] = Array.from({ length: laneCount }, () => ({
      queue: [],
      active: false,
      running: undefined,
      held: undefined,
    }));
    const planner = new BatchPlanner(lines, laneCount, limits, (l, batch) => {
      const lane = lanes[l]!;
      if (lane.held) {
        fill(call.outcomes, batch, lane.held);
        return;
      }
      lane.queue.push(batch);
      if (!lane.active) {
        // `active` is set before the loop starts and cleared when it ends, even if it ends at once.
        lane.active = true;
        lane.running = this.runLane(call, lane);
      }
    });
    const slice = Math.max(PLAN_SLICE_LINES, this.opts.batchLines);
    for (let from = 0; from < lines.length; from += slice) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      planner.add(from, Math.min(lines.length, from + slice));
    }
    planner.finish();
    for (const i of planner.skipped) call.outcomes[i] = DELIVERED;
    await Promise.all(lanes.flatMap((lane) => (lane.running ? [lane.running] : [])));
  }

  private async runLane(call: Call, lane: Lane): Promise<void> {
    // Batches of one lane go one after another: a later batch may hold later points of the same series.
    // While one is in flight, the next is joined and gzipped, so it leaves the moment the answer comes.
    let next: Prepared | undefined;
    try {
      for (let batch = lane.queue.shift(); batch !== undefined; batch = lane.queue.shift()) {
        if (lane.held) {
          fill(call.outcomes, batch, lane.held);
          continue;
        }
        const prepared = next?.batch === batch ? next : this.prepare(call, batch, false);
        next = undefined;
        const sending = this.sendPiece(call, batch, prepared);
        const upcoming = lane.queue[0];
        if (upcoming !== undefined && !call.stopped) next = this.prepare(call, upcoming, true);
        const held = await sending;
        if (held) {
          lane.held = this.notDelivered(
            `held back behind lines of the same series that were not delivered: ${held.reason}`,
            held.retryAt - this.opts.now(),
            false,
          );
        }
      }
    } finally {
      if (next) this.transport.discard(next.body);
      lane.active = false;
    }
  }

  private prepare(call: Call, batch: Batch, ahead: boolean): Prepared {
    const body = joinLines(call.lines, batch);
    if (ahead) this.transport.prepare(body, this.opts.gzipThresholdBytes);
    return { batch, body };
  }

  /** Sends one piece until it has outcomes; returns the outcome that must hold back what follows it. */
  private async sendPiece(
    call: Call,
    piece: Batch,
    prepared?: Prepared,
  ): Promise<NotDeliveredOutcome | undefined> {
    let attempt = 0;
    const body = prepared?.body ?? joinLines(call.lines, piece);
    let probe: Probe | undefined;
    if (call.probe !== undefined) {
      if (call.probe.taken) await call.probe.answered;
      else {
        probe = call.probe;
        probe.taken = true;
      }
    }
    for (;;) {
      if (call.stopped) {
        fill(call.outcomes, piece, call.stopped);
        return call.stopped;
      }
      attempt++;
      const answer = await this.post(body);
      call.requests++;
      if (probe !== undefined) {
        // Whatever the answer, the others may go: a second halt stops them through `stopped`.
        call.probe = undefined;
        probe.resolve();
        probe = undefined;
      }
      const decision = decideRetry(
        {
          status: answer.status,
          headers: answer.headers,
          failure: answer.failure,
          attempt,
          lineCount: piece.length,
          writeApi: this.opts.writeApi,
        },
        this.policy,
      );
      switch (decision.action) {
        case "deliver":
          fill(call.outcomes, piece, DELIVERED);
          return undefined;
        case "wait":
          this.opts.logger.debug?.(
            `retrying ${piece.length} lines in ${decision.afterMs} ms after ${describeAnswer(answer)} (attempt ${attempt})`,
          );
          await this.opts.sleep(decision.afterMs, call.stop.signal);
          continue;
        case "give_up": {
          const reason = `${describeAnswer(answer)}; gave up after ${attempt} attempt${attempt === 1 ? "" : "s"}`;
          this.opts.logger.warn(`${piece.length} lines not delivered: ${reason}`);
          const outcome = this.notDelivered(reason, decision.afterMs, answer.mayBeStored);
          fill(call.outcomes, piece, outcome);
          return outcome;
        }
        case "split":
          this.learnSizeLimit(body);
          return this.sendHalves(call, piece);
        case "bisect":
          return this.sendHalves(call, piece);
        case "partial":
          return this.applyPartial(call, piece, answer);
        case "reject":
          fill(call.outcomes, piece, rejected(answer));
          return undefined;
        case "halt": {
          const reason = `halted: ${describeAnswer(answer)}`;
          if (call.halted === undefined) {
            call.halted = reason;
            this.opts.logger.warn(`${reason}; nothing more is sent until a write succeeds`);
            this.stopCall(call, this.notDelivered(reason, this.opts.haltPauseMs, false));
          }
          const outcome = this.notDelivered(reason, this.opts.haltPauseMs, answer.mayBeStored);
          fill(call.outcomes, piece, outcome);
          return outcome;
        }
      }
    }
  }

  /**
   * A 413 on `body`: later batches are planned at most half its size, but never under 64 KiB, so that a
   * stray 413 (a proxy's hiccup) cannot shrink every later request to a few lines.
   */
  private learnSizeLimit(body: string): void {
    const half = Math.max(MIN_LEARNED_BATCH_BYTES, Math.floor(Buffer.byteLength(body) / 2));
    if (half >= this.batchBytes) return;
    this.batchBytes = half;
    this.opts.logger.warn(
      `the remote refused a ${half * 2}-byte body (413): batches are now at most ${half} bytes`,
    );
  }

  private async sendHalves(call: Call, piece: Batch): Promise<NotDeliveredOutcome | undefined> {
    const mid = piece.length >>> 1;
    const right = piece.slice(mid);
    const held = await this.sendPiece(call, piece.slice(0, mid));
    if (held) {
      fill(call.outcomes, right, held);
      return held;
    }
    return this.sendPiece(call, right);
  }

  private async applyPartial(
    call: Call,
    piece: Batch,
    answer: Answer,
  ): Promise<NotDeliveredOutcome | undefined> {
    const sent = piece.map((i) => call.lines[i]!);
    const listed = parsePartialWrite(answer.body, sent);
    if (!listed) {
      // A 400 whose body does not name the lines: find them by halving, as on v1/v2.
      if (piece.length > 1) return this.sendHalves(call, piece);
      fill(call.outcomes, piece, rejected(answer));
      return undefined;
    }
    const rest: number[] = [];
    for (let k = 0; k < piece.length; k++) {
      const message = listed.rejected.get(k);
      if (message === undefined) rest.push(piece[k]!);
      else
        call.outcomes[piece[k]!] = { kind: "rejected", status: answer.status, message: this.redact(message) };
    }
    if (listed.kind === "partial") {
      fill(call.outcomes, rest, DELIVERED);
      return undefined;
    }
    return rest.length > 0 ? this.sendPiece(call, rest) : undefined;
  }

  private async post(body: string): Promise<Answer> {
    try {
      await withClientLogging(this.logRoute, () => this.client.write(body, this.opts.database));
      return STORED;
    } catch (error) {
      return answerFromError(error, this.redact);
    }
  }

  private notDelivered(reason: string, afterMs: number, mayBeStored: boolean): NotDeliveredOutcome {
    return Object.freeze({
      kind: "not_delivered",
      retryAt: this.opts.now() + Math.max(0, afterMs),
      reason: this.redact(reason),
      mayBeStored,
    });
  }

  private stopCall(call: Call, outcome: NotDeliveredOutcome): void {
    if (call.stopped) return;
    call.stopped = outcome;
    call.stop.abort();
  }
}

function rejected(answer: Answer): RejectedOutcome {
  return Object.freeze({ kind: "rejected", status: answer.status, message: answer.message });
}

function createProbe(): Probe {
  let resolve = (): void => undefined;
  const answered = new Promise<void>((r) => (resolve = r));
  return { taken: false, answered, resolve };
}

/**
 * The request body: the lines joined by newlines. Built by concatenation, which V8 keeps as a rope until
 * `Buffer.from` flattens it once; measured faster than collecting the lines into an array and joining.
 */
function joinLines(lines: readonly string[], piece: Batch): string {
  let body = lines[piece[0]!]!;
  for (let k = 1; k < piece.length; k++) body = body + "\n" + lines[piece[k]!]!;
  return body;
}
