// The send and retry state machine of one request piece: its body registered with the transport, posted
// through the client, and the answer acted on (wait and retry, give up, split on 413, bisect, apply a
// partial write, reject, halt) until every line of the piece has an outcome. The lanes (sink.ts) decide
// which lines travel together and when they leave; this decides what becomes of them once they do, and
// tells the lanes what must hold back the lines that follow.
import { InfluxDBClient } from "@influxdata/influxdb3-client";
import { STORED, answerFromError, describeAnswer } from "./answer.js";
import type { Answer } from "./answer.js";
import type { BatchLimits, PlannedBatch } from "./batching.js";
import { encodeBody } from "./body.js";
import type { BodyCompression } from "./body.js";
import {
  countRequest,
  encodePiece,
  generationOf,
  pieceBytes,
  pieceLength,
  pieceLines,
  settlePiece,
  splitPiece,
} from "./call.js";
import type { Call, CallPiece, Probe } from "./call.js";
import { registerClientLogging, unregisterClientLogging, withClientLogging } from "./client-logging.js";
import type { ResolvedSinkOptions } from "./options.js";
import { DELIVERED } from "./outcome.js";
import type { NotDeliveredOutcome, RejectedOutcome } from "./outcome.js";
import { parsePartialWrite } from "./partial-write.js";
import { decideRetry } from "./retry-policy.js";
import type { RetryPolicyOptions } from "./retry-policy.js";
import { SinkTransport } from "./transport.js";
import { redactToken } from "./redact.js";

/** The smallest `batchBytes` a 413 can teach the sink. */
const MIN_LEARNED_BATCH_BYTES = 64 * 1024;

/** A piece whose body is encoded (and gzipped) and registered with the transport under `key`. */
export interface Prepared {
  piece: CallPiece;
  key: string;
  /** The body's size before gzip. */
  bytes: number;
}

/**
 * Sends the request pieces of one sink and acts on the answers. It owns the transport, the client and the
 * route of the client's logging, so the token stays here: in the transport's headers, and redacted from
 * every reason it hands back.
 */
export class PieceSender {
  /** `halted: <reason>` from the last halt until a later write succeeds: the sink's `halted`. */
  halted: string | undefined;
  private readonly transport: SinkTransport;
  private readonly client: InfluxDBClient;
  private readonly policy: RetryPolicyOptions;
  private readonly redact: (text: string) => string;
  private readonly logRoute: ReturnType<typeof registerClientLogging>;
  /** Bodies prepared so far, for their transport keys. */
  private bodies = 0;

  /**
   * `limits` is the planner's: a 413 lowers its `batchBytes`, so that later batches stop being bodies the
   * remote refuses. `onHalt` is called once per halt, before the halted piece settles, so that the lanes
   * stop every call written so far.
   */
  constructor(
    private readonly opts: ResolvedSinkOptions,
    private readonly limits: BatchLimits,
    private readonly compression: BodyCompression,
    private readonly onHalt: (outcome: NotDeliveredOutcome, reason: string) => void,
  ) {
    const token = opts.token;
    this.redact = (text) => redactToken(text, token);
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

  /** Whether the remote has answered its last requests quickly (see `SinkTransport.answersQuickly`). */
  get answersQuickly(): boolean {
    return this.transport.answersQuickly;
  }

  /** Registers the body of a planned batch (encoded as it was planned), or of a piece (encoded now). */
  prepare(batch: PlannedBatch<Call>): Prepared {
    const key = `edr-sink body ${++this.bodies}`;
    const { piece, body } = batch;
    if (body !== undefined) {
      this.transport.register(key, body.finish());
      return { piece, key, bytes: batch.bytes };
    }
    const raw = encodePiece(piece, batch.bytes);
    this.transport.register(key, encodeBody(raw, this.compression));
    return { piece, key, bytes: raw.length };
  }

  /** Frees a prepared body that will not be sent. */
  discard(prepared: Prepared): void {
    this.transport.discard(prepared.key);
  }

  /** Sends one piece until it has outcomes; returns the outcome that must hold back what follows it. */
  async sendPiece(piece: CallPiece, prepared?: Prepared): Promise<NotDeliveredOutcome | undefined> {
    const body = prepared ?? this.prepare({ piece, bytes: pieceBytes(piece) });
    try {
      return await this.sendPrepared(piece, body);
    } finally {
      this.transport.discard(body.key);
    }
  }

  /**
   * A not-delivered outcome, to be tried again `afterMs` from now, its reason redacted: also what the lanes
   * give the lines they hold back or drop.
   */
  notDelivered(reason: string, afterMs: number, mayBeStored: boolean): NotDeliveredOutcome {
    return Object.freeze({
      kind: "not_delivered",
      retryAt: this.opts.now() + Math.max(0, afterMs),
      reason: this.redact(reason),
      mayBeStored,
    });
  }

  /** Closes the client, frees the sockets and stops routing the client's logging. */
  async close(): Promise<void> {
    await this.client.close();
    this.transport.close();
    unregisterClientLogging(this.logRoute);
  }

  private async sendPrepared(piece: CallPiece, body: Prepared): Promise<NotDeliveredOutcome | undefined> {
    const generation = generationOf(piece);
    let attempt = 0;
    let probe: Probe | undefined;
    if (generation.probe !== undefined) {
      if (generation.probe.taken) await generation.probe.answered;
      else {
        probe = generation.probe;
        probe.taken = true;
      }
    }
    for (;;) {
      if (generation.stopped) {
        settlePiece(piece, generation.stopped);
        return generation.stopped;
      }
      attempt++;
      const answer = await this.post(body.key);
      countRequest(piece);
      if (probe !== undefined) {
        // Whatever the answer, the others may go: a second halt stops them through `stopped`.
        generation.probe = undefined;
        probe.resolve();
        probe = undefined;
      }
      const lineCount = pieceLength(piece);
      const decision = decideRetry(
        {
          status: answer.status,
          headers: answer.headers,
          failure: answer.failure,
          attempt,
          lineCount,
          writeApi: this.opts.writeApi,
        },
        this.policy,
      );
      this.opts.onAnswer?.({
        status: answer.status,
        failure: answer.failure,
        lines: lineCount,
        action: decision.action,
      });
      switch (decision.action) {
        case "deliver":
          settlePiece(piece, DELIVERED);
          if (this.halted !== undefined && !generation.stopped) {
            this.opts.logger.info?.(`resumed: a write succeeded after ${this.halted}`);
            this.halted = undefined;
          }
          return undefined;
        case "wait":
          this.opts.logger.debug?.(
            `retrying ${lineCount} lines in ${decision.afterMs} ms after ${describeAnswer(answer)} (attempt ${attempt})`,
          );
          await this.opts.sleep(decision.afterMs, generation.stop.signal);
          continue;
        case "give_up": {
          const reason = `${describeAnswer(answer)}; gave up after ${attempt} attempt${attempt === 1 ? "" : "s"}`;
          this.opts.logger.warn(`${lineCount} lines not delivered: ${reason}`);
          const outcome = this.notDelivered(reason, decision.afterMs, answer.mayBeStored);
          settlePiece(piece, outcome);
          return outcome;
        }
        case "split":
          this.learnSizeLimit(body.bytes);
          return this.sendHalves(piece);
        case "bisect":
          return this.sendHalves(piece);
        case "partial":
          return this.applyPartial(piece, answer);
        case "reject":
          settlePiece(piece, rejected(answer));
          return undefined;
        case "halt": {
          const reason = `halted: ${describeAnswer(answer)}`;
          if (!generation.stopped) {
            this.halted = reason;
            this.opts.logger.warn(`${reason}; nothing more is sent until a write succeeds`);
            this.onHalt(this.notDelivered(reason, this.opts.haltPauseMs, false), reason);
          }
          const outcome = this.notDelivered(reason, this.opts.haltPauseMs, answer.mayBeStored);
          for (const segment of piece) segment.owner.halted ??= reason;
          settlePiece(piece, outcome);
          return outcome;
        }
      }
    }
  }

  /**
   * A 413 on a body of `bytes`: later batches are planned at most half its size, but never under 64 KiB,
   * so that a stray 413 (a proxy's hiccup) cannot shrink every later request to a few lines.
   */
  private learnSizeLimit(bytes: number): void {
    const half = Math.max(MIN_LEARNED_BATCH_BYTES, Math.floor(bytes / 2));
    if (half >= this.limits.batchBytes) return;
    this.limits.batchBytes = half;
    this.opts.logger.warn(
      `the remote refused a ${half * 2}-byte body (413): batches are now at most ${half} bytes`,
    );
  }

  private async sendHalves(piece: CallPiece): Promise<NotDeliveredOutcome | undefined> {
    const [left, right] = splitPiece(piece, pieceLength(piece) >>> 1);
    const held = await this.sendPiece(left);
    if (held) {
      settlePiece(right, held);
      return held;
    }
    return this.sendPiece(right);
  }

  private async applyPartial(piece: CallPiece, answer: Answer): Promise<NotDeliveredOutcome | undefined> {
    const listed = parsePartialWrite(answer.body, pieceLines(piece));
    if (!listed) {
      // A 400 whose body does not name the lines: find them by halving, as on v1/v2.
      if (pieceLength(piece) > 1) return this.sendHalves(piece);
      settlePiece(piece, rejected(answer));
      return undefined;
    }
    const rest: CallPiece = [];
    let k = 0;
    for (const { owner, indices } of piece) {
      const kept: number[] = [];
      for (const index of indices) {
        const message = listed.rejected.get(k++);
        if (message === undefined) kept.push(index);
        else owner.settle(index, { kind: "rejected", status: answer.status, message: this.redact(message) });
      }
      if (kept.length > 0) rest.push({ owner, indices: kept });
    }
    if (listed.kind === "partial") {
      settlePiece(rest, DELIVERED);
      return undefined;
    }
    return rest.length > 0 ? this.sendPiece(rest) : undefined;
  }

  /**
   * Sends the body registered under `key` through the client, which builds the request options and turns
   * the answer into an HttpError; the transport swaps the key for the encoded body.
   */
  private async post(key: string): Promise<Answer> {
    try {
      await withClientLogging(this.logRoute, () => this.client.write(key, this.opts.database));
      return STORED;
    } catch (error) {
      return answerFromError(error, this.redact);
    }
  }
}

function rejected(answer: Answer): RejectedOutcome {
  return Object.freeze({ kind: "rejected", status: answer.status, message: answer.message });
}
