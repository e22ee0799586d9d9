/** One problem found in the arguments. */
export interface ArgsIssue {
  /** The argument the problem is about (`window`), or `#3` for the third pair when it has no usable name. */
  argument: string;
  /** What was expected, in words (`<number><unit> with unit s|min|h|d|w`). */
  expected: string;
  /** What came in, as given but shortened past 60 characters; absent for secrets and for missing arguments. */
  received?: string;
  /** The whole line as printed: `window: expected …, got "10x"`. */
  message: string;
}

/** The codes {@link ArgsError} carries. */
export type ArgsErrorCode = "INVALID_ARGUMENT";

/**
 * Every problem found in a set of trigger arguments, reported at once. `issues` lists them; the message
 * prints one per line. A secret's value (`token`, `local_token`) never appears in either.
 */
export class ArgsError extends Error {
  /** Always `INVALID_ARGUMENT`. */
  readonly code: ArgsErrorCode = "INVALID_ARGUMENT";
  /** The problems, in the order the arguments were checked. */
  readonly issues: readonly ArgsIssue[];

  constructor(issues: readonly ArgsIssue[], options?: ErrorOptions) {
    super(formatIssues(issues), options);
    this.name = "ArgsError";
    this.issues = issues;
  }
}

const MAX_SHOWN = 60;

/** Shortens a long value so that a message stays on one terminal line. */
export function shorten(value: string): string {
  return value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN - 1)}…` : value;
}

/** Quotes a value for a message (shortened, escaped), so spaces, empties and odd characters are visible. */
export function showValue(value: string): string {
  return JSON.stringify(shorten(value));
}

function formatIssues(issues: readonly ArgsIssue[]): string {
  const head =
    issues.length === 1
      ? "[edr-args] 1 problem in the arguments:"
      : `[edr-args] ${issues.length} problems in the arguments:`;
  return [head, ...issues.map((issue) => `  - ${issue.message}`)].join("\n");
}

/**
 * Collects issues while arguments are checked, so that every problem is reported in one error.
 * Secrets registered with {@link addSecret} are masked in every issue before it is thrown.
 */
export class IssueList {
  readonly #issues: ArgsIssue[] = [];
  readonly #secrets: string[] = [];

  /** Records that `argument` expected `expected` but got `received` (a raw value; pass none for secrets). */
  add(argument: string, expected: string, received?: string): void {
    const issue: ArgsIssue = { argument, expected, message: "" };
    if (received === undefined) {
      issue.message = `${argument}: expected ${expected}`;
    } else {
      issue.received = shorten(received);
      issue.message = `${argument}: expected ${expected}, got ${JSON.stringify(issue.received)}`;
    }
    this.#issues.push(issue);
  }

  /** Records a problem that is not "expected X, got Y" (unknown argument, conflict); `expected` says what would be right. */
  addNote(argument: string, message: string, expected: string): void {
    this.#issues.push({ argument, expected, message: `${argument}: ${message}` });
  }

  /** Registers a secret's value: it is masked wherever it would otherwise be echoed (e.g. a token pasted into `host`). */
  addSecret(value: string): void {
    // Shorter values would mask ordinary words of the messages; real tokens are far longer.
    if (value.length < 4) return;
    this.#secrets.push(value);
    // Echoed values are JSON-quoted: a secret with a quote or backslash appears escaped.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) this.#secrets.push(escaped);
  }

  /** The number of issues so far. */
  get size(): number {
    return this.#issues.length;
  }

  /** Throws an {@link ArgsError} with every issue collected, if there is any. */
  throwIfAny(): void {
    if (this.#issues.length > 0) throw new ArgsError(this.#issues.map((issue) => this.#mask(issue)));
  }

  /** The issues collected so far, masked. */
  list(): ArgsIssue[] {
    return this.#issues.map((issue) => this.#mask(issue));
  }

  #mask(issue: ArgsIssue): ArgsIssue {
    if (this.#secrets.length === 0) return issue;
    const masked: ArgsIssue = {
      argument: this.#scrub(issue.argument),
      expected: issue.expected,
      message: this.#scrub(issue.message),
    };
    if (issue.received !== undefined) masked.received = this.#scrub(issue.received);
    return masked;
  }

  #scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      out = out.split(secret).join("<secret>");
      // A shortened echo may hold a secret's start only: mask any 8+ character prefix of it too.
      for (let n = secret.length - 1; n >= 8; n--) {
        const prefix = secret.slice(0, n);
        if (out.includes(`${prefix}…`)) out = out.split(`${prefix}…`).join("<secret>…");
      }
    }
    return out;
  }
}
