import { TransformError } from "./errors.js";
import { INT64_MAX, INT64_MIN, UINT64_MAX, type FieldType, type FieldValue } from "./point.js";

/** How the values of one field in one bucket become one value. */
export type Aggregation = "avg" | "sum" | "min" | "max" | "count" | "first" | "last" | "median";

const AGGREGATIONS: ReadonlyMap<string, number> = new Map([
  ["avg", 0],
  ["sum", 1],
  ["min", 2],
  ["max", 3],
  ["count", 4],
  ["first", 5],
  ["last", 6],
  ["median", 7],
]);
export const AVG = 0;
export const SUM = 1;
export const MIN = 2;
export const MAX = 3;
export const COUNT = 4;
export const FIRST = 5;
export const LAST = 6;
export const MEDIAN = 7;

/** The running state of one field in one bucket: only what its aggregation needs is kept up to date. */
export class Accumulator {
  count = 0;
  sumFloat = 0;
  sumInt = 0n;
  /** Part of an integer sum kept as a number while it is exact (|sum| < 2^52): no bigint per value. */
  sumSmall = 0;
  min: number | bigint | string | boolean = 0;
  max: number | bigint | string | boolean = 0;
  firstValue: FieldValue;
  firstTime: bigint;
  lastValue: FieldValue;
  lastTime: bigint;
  values: (number | bigint)[] | null = null;

  constructor(
    readonly name: string,
    readonly type: FieldType,
    readonly aggregation: number,
    value: FieldValue,
    time: bigint,
  ) {
    this.firstValue = value;
    this.firstTime = time;
    this.lastValue = value;
    this.lastTime = time;
    this.min = value.value;
    this.max = value.value;
    if (aggregation === MEDIAN) this.values = [];
  }
}

/** Whether a field type is a number. */
export function isNumeric(type: FieldType): boolean {
  return type === "float" || type === "integer" || type === "unsigned";
}

/** The code of an aggregation name; throws naming where it was configured. */
export function aggregationCode(name: unknown, where: string): number {
  const code = typeof name === "string" ? AGGREGATIONS.get(name) : undefined;
  if (code === undefined) {
    throw new TransformError(
      "INVALID_ARGUMENT",
      `aggregations: ${where}: expected one of avg, sum, min, max, count, first, last, median, got ${JSON.stringify(name)}`,
    );
  }
  return code;
}

// Below 2^52 in magnitude, the sum of two integers is exact as a number.
const SMALL = 2 ** 52;
const SMALL_BIGINT = 2n ** 52n;

/** Adds one value at time `t`. */
export function update(acc: Accumulator, value: FieldValue, t: bigint): void {
  switch (acc.aggregation) {
    case AVG:
    case SUM:
      acc.count++;
      if (value.type === "float") acc.sumFloat += value.value;
      else {
        const v = value.value as bigint;
        if (v > -SMALL_BIGINT && v < SMALL_BIGINT && acc.sumSmall > -SMALL && acc.sumSmall < SMALL) {
          acc.sumSmall += Number(v);
        } else {
          acc.sumInt += BigInt(acc.sumSmall) + v;
          acc.sumSmall = 0;
        }
      }
      return;
    case COUNT:
      acc.count++;
      return;
    case MIN:
      if (acc.count++ === 0 || value.value < acc.min) acc.min = value.value;
      return;
    case MAX:
      if (acc.count++ === 0 || value.value > acc.max) acc.max = value.value;
      return;
    case FIRST:
      if (acc.count++ === 0 || t < acc.firstTime) {
        acc.firstTime = t;
        acc.firstValue = value;
      }
      return;
    case LAST:
      if (acc.count++ === 0 || t >= acc.lastTime) {
        acc.lastTime = t;
        acc.lastValue = value;
      }
      return;
    default:
      acc.count++;
      acc.values!.push(value.value as number | bigint);
  }
}

/** The aggregate of one field in one bucket, or the reason there is none. */
export function result(acc: Accumulator): FieldValue | string {
  if (acc.sumSmall !== 0) {
    acc.sumInt += BigInt(acc.sumSmall);
    acc.sumSmall = 0;
  }
  switch (acc.aggregation) {
    case AVG:
      if (acc.type === "float") return { type: "float", value: acc.sumFloat / acc.count };
      return { type: "float", value: divideToFloat(acc.sumInt, acc.count) };
    case SUM:
      if (acc.type === "float") return { type: "float", value: acc.sumFloat };
      if (acc.type === "integer") {
        if (acc.sumInt < INT64_MIN || acc.sumInt > INT64_MAX)
          return `the integer sum ${acc.sumInt} leaves the int64 range`;
        return { type: "integer", value: acc.sumInt };
      }
      if (acc.sumInt > UINT64_MAX) return `the unsigned sum ${acc.sumInt} leaves the uint64 range`;
      return { type: "unsigned", value: acc.sumInt };
    case COUNT:
      return { type: "integer", value: BigInt(acc.count) };
    case MIN:
      return { type: acc.type, value: acc.min } as FieldValue;
    case MAX:
      return { type: acc.type, value: acc.max } as FieldValue;
    case FIRST:
      return acc.firstValue;
    case LAST:
      return acc.lastValue;
    default: {
      const values = acc.values!;
      if (acc.type === "float") (values as number[]).sort((a, b) => a - b);
      else (values as bigint[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const mid = values.length >> 1;
      if (values.length % 2 === 1) return { type: "float", value: Number(values[mid]) };
      const a = values[mid - 1]!;
      const b = values[mid]!;
      return {
        type: "float",
        value: typeof a === "bigint" ? Number(a + (b as bigint)) / 2 : a / 2 + (b as number) / 2,
      };
    }
  }
}

/** sum / count as the nearest float, without letting a sum beyond 2^53 lose its low digits first. */
function divideToFloat(sum: bigint, count: number): number {
  const n = BigInt(count);
  const quotient = sum / n;
  return Number(quotient) + Number(sum - quotient * n) / count;
}
