// Cells of query rows: their line-protocol text or typed value, and the words for a cell that does not fit.
import { DOT, MINUS, NINE, ZERO, formatFloat, isIntegerText } from "./escape.js";
import type { FieldValue } from "./point.js";

/** Column kinds. */
export const TAG = 0;
export const INTEGER = 1;
export const UNSIGNED = 2;
export const FLOAT = 3;
export const STRING = 4;
export const BOOLEAN = 5;

export function expected(kind: number): string {
  switch (kind) {
    case INTEGER:
      return "an int64 (exact text, bigint, safe-integer number or lossless number)";
    case UNSIGNED:
      return "a uint64 (exact text, bigint, safe-integer number or lossless number)";
    case FLOAT:
      return "a finite float";
    case STRING:
    case TAG:
      return "a string";
    default:
      return "a boolean";
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return "nothing (the column is missing)";
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "object" && v !== null && typeof (v as { value?: unknown }).value === "string") {
    return `lossless number ${(v as { value: string }).value}`;
  }
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  let text: string;
  try {
    text = JSON.stringify(v) ?? typeof v;
  } catch {
    text = "that cannot be shown";
  }
  return `${typeof v} ${text}`;
}

/** Text of an integer cell, or undefined. Numbers beyond 2^53 may already have lost digits: refused. */
export function integerText(v: unknown, signed: boolean): string | undefined {
  let text: string;
  if (typeof v === "string") text = v;
  else if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || (!signed && v < 0)) return undefined;
    return String(v);
  } else if (typeof v === "bigint") text = v.toString();
  else if (typeof v === "object" && v !== null && typeof (v as { value?: unknown }).value === "string") {
    text = (v as { value: string }).value;
  } else return undefined;
  return isIntegerText(text, 0, text.length, signed) ? text : undefined;
}

/** Whether `s` is a JSON-style number, which line protocol reads as the same float. */
export function isFloatText(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (i < n && s.charCodeAt(i) === MINUS) i++;
  const start = i;
  let c = 0;
  while (i < n && (c = s.charCodeAt(i)) >= ZERO && c <= NINE) i++;
  if (i === start) return false;
  if (i < n && c === DOT) {
    const f = ++i;
    while (i < n && (c = s.charCodeAt(i)) >= ZERO && c <= NINE) i++;
    if (i === f) return false;
  }
  if (i < n && (c === 101 || c === 69)) {
    i++;
    if (i < n && ((c = s.charCodeAt(i)) === 43 || c === MINUS)) i++;
    const e = i;
    while (i < n && (c = s.charCodeAt(i)) >= ZERO && c <= NINE) i++;
    if (i === e) return false;
    return i === n && Number.isFinite(Number(s));
  }
  return i === n;
}

export function floatText(v: unknown): string | undefined {
  if (typeof v === "number") return formatFloat(v);
  let text: string;
  if (typeof v === "string") text = v;
  else if (typeof v === "bigint") return formatFloat(Number(v));
  else if (typeof v === "object" && v !== null && typeof (v as { value?: unknown }).value === "string") {
    text = (v as { value: string }).value;
  } else return undefined;
  // Exact decimal text goes through as written: the remote rounds it to the same float we would.
  return isFloatText(text) ? text : undefined;
}

export function cellValue(kind: number, v: unknown): FieldValue | undefined {
  switch (kind) {
    case FLOAT: {
      const text = floatText(v);
      return text === undefined
        ? undefined
        : { type: "float", value: typeof v === "number" ? v : Number(text) };
    }
    case INTEGER: {
      const text = integerText(v, true);
      return text === undefined ? undefined : { type: "integer", value: BigInt(text) };
    }
    case UNSIGNED: {
      const text = integerText(v, false);
      return text === undefined ? undefined : { type: "unsigned", value: BigInt(text) };
    }
    case STRING:
      return typeof v === "string" ? { type: "string", value: v } : undefined;
    default:
      return typeof v === "boolean" ? { type: "boolean", value: v } : undefined;
  }
}
