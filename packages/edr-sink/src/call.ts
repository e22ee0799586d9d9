import type { Piece } from "./batching.js";
import type { LineOutcome, NotDeliveredOutcome } from "./outcome.js";

/**
 * The calls written between two stops. A halt (401/403/404, TLS) or `close()` stops the current
 * generation: every line of its calls not yet answered comes back with the same outcome, and the calls
 * written after it start a new generation.
 */
export interface Generation {
  readonly stop: AbortController;
  stopped: NotDeliveredOutcome | undefined;
  /** While the sink is halted, a new generation's first request goes alone; the others wait for its answer. */
  probe: Probe | undefined;
}

/** The one request a halted sink sends first. */
export interface Probe {
  taken: boolean;
  readonly answered: Promise<void>;
  readonly resolve: () => void;
}

export function createGeneration(halted: boolean): Generation {
  return { stop: new AbortController(), stopped: undefined, probe: halted ? createProbe() : undefined };
}

function createProbe(): Probe {
  let resolve = (): void => undefined;
  const answered = new Promise<void>((r) => (resolve = r));
  return { taken: false, answered, resolve };
}

/** One `write` call: its lines, an outcome slot per line, and a promise kept when every slot is set. */
export class Call {
  readonly outcomes: LineOutcome[];
  requests = 0;
  /** The halt that stopped this call, for its result. */
  halted: string | undefined;
  readonly done: Promise<void>;
  private remaining: number;
  private planned = false;
  private finish!: () => void;
  private fail!: (error: unknown) => void;

  constructor(
    readonly lines: readonly string[],
    readonly generation: Generation,
  ) {
    this.outcomes = new Array<LineOutcome>(lines.length);
    this.remaining = lines.length;
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
  }

  /** Sets line `index`'s outcome; a line keeps its first outcome. */
  settle(index: number, outcome: LineOutcome): void {
    if (this.outcomes[index] !== undefined) return;
    this.outcomes[index] = outcome;
    if (--this.remaining === 0 && this.planned) this.finish();
  }

  /** Sets the outcome of lines `from` to the end that have none yet. */
  settleFrom(from: number, outcome: LineOutcome): void {
    for (let i = from; i < this.lines.length; i++) this.settle(i, outcome);
  }

  /** Every line has been handed to a lane (or settled): the call is done once the lanes answer. */
  markPlanned(): void {
    this.planned = true;
    if (this.remaining === 0) this.finish();
  }

  get settled(): boolean {
    return this.planned && this.remaining === 0;
  }

  /** A programming error inside the sink: the call's `write` rejects with it. */
  abort(error: unknown): void {
    this.fail(error);
  }
}

/** Lines of one request: segments of one or more calls. */
export type CallPiece = Piece<Call>;

export function pieceLength(piece: CallPiece): number {
  let n = 0;
  for (const segment of piece) n += segment.indices.length;
  return n;
}

export function settlePiece(piece: CallPiece, outcome: LineOutcome): void {
  for (const { owner, indices } of piece) {
    for (let k = 0; k < indices.length; k++) owner.settle(indices[k]!, outcome);
  }
}

/** The generation of a piece's calls (a piece never mixes generations: a stop empties every lane). */
export function generationOf(piece: CallPiece): Generation {
  return piece[0]!.owner.generation;
}

/** Counts one request for every call with lines in `piece`. */
export function countRequest(piece: CallPiece): void {
  for (const segment of piece) segment.owner.requests++;
}

/** The piece's lines as text, in order. */
export function pieceLines(piece: CallPiece): string[] {
  const out: string[] = [];
  for (const { owner, indices } of piece) {
    for (let k = 0; k < indices.length; k++) out.push(owner.lines[indices[k]!]!);
  }
  return out;
}

const NEWLINE = 0x0a;

/**
 * The request body: the lines as UTF-8 separated by newlines, written straight into one Buffer of the
 * exact size (`bytes`, counted by the planner or by `pieceBytes`). Joining a 6 MiB body as
 * a string first left two strings per line for the garbage collector, whose pauses held up the answers
 * of the other lanes.
 */
export function encodePiece(piece: CallPiece, bytes: number): Buffer {
  const body = Buffer.allocUnsafe(bytes);
  let at = 0;
  let first = true;
  for (const { owner, indices } of piece) {
    for (let k = 0; k < indices.length; k++) {
      if (first) first = false;
      else body[at++] = NEWLINE;
      at += body.write(owner.lines[indices[k]!]!, at, "utf8");
    }
  }
  if (at !== bytes) throw new Error(`[edr-sink] a body planned at ${bytes} bytes encoded to ${at}`);
  return body;
}

/** The size of a piece's body: UTF-8 bytes of its lines and the newlines between them. */
export function pieceBytes(piece: CallPiece): number {
  let size = -1;
  for (const { owner, indices } of piece) {
    for (let k = 0; k < indices.length; k++) size += Buffer.byteLength(owner.lines[indices[k]!]!) + 1;
  }
  return Math.max(0, size);
}

/** The first `count` lines of `piece` and the rest, as two pieces. */
export function splitPiece(piece: CallPiece, count: number): [CallPiece, CallPiece] {
  const left: CallPiece = [];
  const right: CallPiece = [];
  let remaining = count;
  for (const segment of piece) {
    const n = segment.indices.length;
    if (remaining >= n) left.push(segment);
    else if (remaining <= 0) right.push(segment);
    else {
      left.push({ owner: segment.owner, indices: segment.indices.slice(0, remaining) });
      right.push({ owner: segment.owner, indices: segment.indices.slice(remaining) });
    }
    remaining -= n;
  }
  return [left, right];
}
