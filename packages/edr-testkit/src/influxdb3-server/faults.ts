import { TestServerError } from "./errors.js";

/** Which requests a fault applies to: writes (the default), queries, or every request. */
export type FaultTarget = "write" | "query" | "any";

/** An answer to give instead of the real one. */
export interface FailureOptions {
  /** HTTP status to answer with. */
  status: number;
  /** Body text; a JSON text is sent as `application/json`. @default `{"error":"injected fault: <status>"}` */
  body?: string;
  /** `Retry-After`: seconds (number), an HTTP date (Date) or the header text as is (string). */
  retryAfter?: number | Date | string;
  /** Which requests it applies to. @default "write" */
  on?: FaultTarget;
}

/** What `perRequest`'s chooser sees of a request (the server's `ReceivedRequest` is one). */
export interface FaultRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  /** The body as text, gunzipped. */
  readonly body: string;
}

/** One request's fault, as `perRequest`'s chooser returns it. */
export type RequestFault =
  /** Answer with this status (and body, Retry-After) instead of handling the request. */
  | ({ kind: "fail" } & Omit<FailureOptions, "on">)
  /** Destroy the socket without an answer (nothing stored). */
  | { kind: "drop" }
  /** Never answer. */
  | { kind: "stall" }
  /** Handle the request (a write is stored), then lose the answer (see `cutNextResponse`). */
  | { kind: "cut"; afterBytes?: number }
  /** Handle the request normally, after `ms` (on top of `delay`). */
  | { kind: "delay"; ms: number }
  /**
   * Handle the request at once (a write is stored in the order requests arrive, as InfluxDB 3 applies them),
   * then hold its answer for `ms`: a remote slower than the client's timeout that still stored the write.
   */
  | { kind: "answerLate"; ms: number };

/** Decides the fault of each request; undefined leaves the request to the other switches. */
export type FaultChooser = (request: FaultRequest) => RequestFault | undefined;

/** Switches that make the test server misbehave; all can be flipped while it runs. */
export interface FaultSwitches {
  /** Answer the next `n` matching requests with `options` instead of handling them. */
  failNext(n: number, options: FailureOptions): void;
  /** Answer every matching request with `options` until `clear()`. */
  failAll(options: FailureOptions): void;
  /** Answer a fraction `f` (0..1) of matching requests with `options`; `seed` makes the choice repeatable. */
  failFraction(f: number, options: FailureOptions, seed?: number): void;
  /** Answer matching requests only after `ms` milliseconds (0 turns it off). */
  delay(ms: number, on?: FaultTarget): void;
  /** For the next `n` matching requests: read the whole body, then destroy the socket without answering. */
  dropNextConnection(n: number, on?: FaultTarget): void;
  /** For the next `n` matching requests: read the body and never answer (until the server closes). */
  stall(n: number, on?: FaultTarget): void;
  /**
   * For the next `n` matching requests: handle them fully (a write is stored), then lose the answer: send
   * nothing (default) or the status, headers and the first `afterBytes` bytes of the body, then destroy the
   * socket. Models an answer lost on the way back, and a query stream cut short after its 200.
   */
  cutNextResponse(n: number, options?: { afterBytes?: number; on?: FaultTarget }): void;
  /** Stop listening (new connections are refused) and cut open connections. */
  refuse(): Promise<void>;
  /** Listen again on the same port after `refuse()`. */
  accept(): Promise<void>;
  /**
   * Call `choose` for every matching request (after its body is read, before every other switch) and apply
   * the fault it returns: a random mix over many requests, each decided on its own (by the request's body, a
   * seeded random source…). `undefined` turns it off.
   */
  perRequest(choose: FaultChooser | undefined, on?: FaultTarget): void;
  /** Turn every fault off (does not re-open a refused listener: use `accept()`). */
  clear(): void;
}

/** What the server should do with one request, decided by the switches. */
export type FaultAction =
  | { kind: "none" }
  | { kind: "fail"; status: number; headers: Record<string, string>; body: string }
  | { kind: "drop" }
  | { kind: "stall" }
  | { kind: "cut"; afterBytes: number | undefined }
  | { kind: "delay"; ms: number }
  | { kind: "answerLate"; ms: number };

interface Counted {
  remaining: number;
  on: FaultTarget;
}

/** The state behind `FaultSwitches`, minus the listener control, which the server owns. */
export class FaultState {
  private failures: (Counted & { options: FailureOptions })[] = [];
  private always: FailureOptions | undefined;
  private fraction: { f: number; options: FailureOptions; next: () => number } | undefined;
  private delayMs = 0;
  private delayOn: FaultTarget = "write";
  private drops: Counted[] = [];
  private stalls: Counted[] = [];
  private cuts: (Counted & { afterBytes: number | undefined })[] = [];
  private chooser: { choose: FaultChooser; on: FaultTarget } | undefined;

  failNext(n: number, options: FailureOptions): void {
    checkCount("failNext", n);
    this.failures.push({ remaining: n, on: options.on ?? "write", options });
  }

  failAll(options: FailureOptions): void {
    this.always = options;
  }

  failFraction(f: number, options: FailureOptions, seed?: number): void {
    if (!(f >= 0 && f <= 1))
      throw new TestServerError("INVALID_ARGUMENT", `failFraction: expected 0 <= f <= 1, got ${f}`);
    this.fraction = { f, options, next: seed === undefined ? Math.random : mulberry32(seed) };
  }

  delay(ms: number, on: FaultTarget = "write"): void {
    if (!(ms >= 0)) throw new TestServerError("INVALID_ARGUMENT", `delay: expected ms >= 0, got ${ms}`);
    this.delayMs = ms;
    this.delayOn = on;
  }

  dropNextConnection(n: number, on: FaultTarget = "write"): void {
    checkCount("dropNextConnection", n);
    this.drops.push({ remaining: n, on });
  }

  stall(n: number, on: FaultTarget = "write"): void {
    checkCount("stall", n);
    this.stalls.push({ remaining: n, on });
  }

  cutNextResponse(n: number, options: { afterBytes?: number; on?: FaultTarget } = {}): void {
    checkCount("cutNextResponse", n);
    const afterBytes = options.afterBytes;
    if (afterBytes !== undefined) checkCount("cutNextResponse afterBytes", afterBytes);
    this.cuts.push({ remaining: n, on: options.on ?? "write", afterBytes });
  }

  perRequest(choose: FaultChooser | undefined, on: FaultTarget = "write"): void {
    this.chooser = choose === undefined ? undefined : { choose, on };
  }

  clear(): void {
    this.chooser = undefined;
    this.failures = [];
    this.always = undefined;
    this.fraction = undefined;
    this.delayMs = 0;
    this.drops = [];
    this.stalls = [];
    this.cuts = [];
  }

  /** The delay for a request of this kind. */
  delayFor(kind: "write" | "query" | "other"): number {
    return matches(this.delayOn, kind) ? this.delayMs : 0;
  }

  /** Decides (and counts) the fault for one request: the chooser, stall, drop, cut, then the failures. */
  take(kind: "write" | "query" | "other", request?: FaultRequest): FaultAction {
    if (this.chooser !== undefined && request !== undefined && matches(this.chooser.on, kind)) {
      const chosen = this.chooser.choose(request);
      if (chosen !== undefined) return requestFault(chosen);
    }
    if (takeCounted(this.stalls, kind) !== undefined) return { kind: "stall" };
    if (takeCounted(this.drops, kind) !== undefined) return { kind: "drop" };
    const cut = takeCounted(this.cuts, kind);
    if (cut !== undefined) return { kind: "cut", afterBytes: cut.afterBytes };
    const counted = this.failures.find((c) => c.remaining > 0 && matches(c.on, kind));
    if (counted !== undefined) {
      counted.remaining--;
      return failure(counted.options);
    }
    if (this.always !== undefined && matches(this.always.on ?? "write", kind)) return failure(this.always);
    if (this.fraction !== undefined && matches(this.fraction.options.on ?? "write", kind)) {
      if (this.fraction.next() < this.fraction.f) return failure(this.fraction.options);
    }
    return { kind: "none" };
  }
}

function matches(on: FaultTarget, kind: "write" | "query" | "other"): boolean {
  return on === "any" || on === kind;
}

function takeCounted<T extends Counted>(list: T[], kind: "write" | "query" | "other"): T | undefined {
  const c = list.find((x) => x.remaining > 0 && matches(x.on, kind));
  if (c !== undefined) c.remaining--;
  return c;
}

function requestFault(fault: RequestFault): FaultAction {
  switch (fault.kind) {
    case "fail":
      return failure(fault);
    case "drop":
    case "stall":
      return { kind: fault.kind };
    case "cut":
      if (fault.afterBytes !== undefined) checkCount("perRequest cut afterBytes", fault.afterBytes);
      return { kind: "cut", afterBytes: fault.afterBytes };
    case "delay":
      if (!(fault.ms >= 0))
        throw new TestServerError("INVALID_ARGUMENT", `perRequest delay: expected ms >= 0, got ${fault.ms}`);
      return { kind: "delay", ms: fault.ms };
    case "answerLate":
      if (!(fault.ms >= 0))
        throw new TestServerError(
          "INVALID_ARGUMENT",
          `perRequest answerLate: expected ms >= 0, got ${fault.ms}`,
        );
      return { kind: "answerLate", ms: fault.ms };
  }
}

function failure(options: FailureOptions): FaultAction {
  const body = options.body ?? JSON.stringify({ error: `injected fault: ${options.status}` });
  const headers: Record<string, string> = {
    "content-type": isJson(body) ? "application/json" : "text/plain; charset=utf-8",
  };
  const retryAfter = options.retryAfter;
  if (retryAfter !== undefined) {
    headers["retry-after"] =
      typeof retryAfter === "number"
        ? String(retryAfter)
        : retryAfter instanceof Date
          ? retryAfter.toUTCString()
          : retryAfter;
  }
  return { kind: "fail", status: options.status, headers, body };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function checkCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0)
    throw new TestServerError("INVALID_ARGUMENT", `${name}: expected a whole count >= 0, got ${n}`);
}

/** A small seeded PRNG (mulberry32) so that `failFraction(f, o, seed)` fails the same requests on every run; tests use it for replayable randomness too. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
