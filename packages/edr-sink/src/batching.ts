import { hashSeries } from "./series.js";

/** Bounds of one request body. */
export interface BatchLimits {
  /** Most lines in one request. */
  batchLines: number;
  /** Most bytes (UTF-8, newlines included, before gzip) in one request. */
  batchBytes: number;
}

/** Line indices, in order, that travel in one request. */
export type Batch = number[];

/** The plan of one write call: lanes run side by side, the batches of a lane one after another. */
export interface BatchPlan {
  lanes: Batch[][];
  /** Indices of lines that are never sent: empty, blank or `#` comments (the server skips them anyway). */
  skipped: number[];
}

const HASH = 0x23;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;

/** True for a line the server would skip (empty, whitespace only, or a `#` comment). */
export function isSkippableLine(line: string): boolean {
  if (line.length === 0) return true;
  const c = line.charCodeAt(0);
  if (c === HASH) return true;
  if (c !== SPACE && c !== TAB && c !== CR) return false;
  const trimmed = line.trimStart();
  return trimmed.length === 0 || trimmed.charCodeAt(0) === HASH;
}

/**
 * Splits lines into lanes by series (so one series always travels in one lane, in order) and each lane
 * into batches bounded by lines and bytes. Everything fits in one request: one lane, one batch.
 * A single line larger than `batchBytes` gets a batch of its own (the remote decides: 413 rejects it).
 */
export function planBatches(lines: readonly string[], laneCount: number, limits: BatchLimits): BatchPlan {
  const n = lines.length;
  const skipped: number[] = [];
  const sizes = new Float64Array(n);
  let totalBytes = 0;
  let sendable = 0;
  for (let i = 0; i < n; i++) {
    const line = lines[i]!;
    if (isSkippableLine(line)) {
      skipped.push(i);
      sizes[i] = -1;
      continue;
    }
    const size = Buffer.byteLength(line) + 1;
    sizes[i] = size;
    totalBytes += size;
    sendable++;
  }
  const lanesWanted = sendable <= limits.batchLines && totalBytes <= limits.batchBytes ? 1 : laneCount;
  const lanes: Batch[][] = [];
  const current: Batch[] = [];
  const currentBytes: number[] = [];
  for (let l = 0; l < lanesWanted; l++) {
    lanes.push([]);
    current.push([]);
    currentBytes.push(0);
  }
  for (let i = 0; i < n; i++) {
    const size = sizes[i]!;
    if (size < 0) continue;
    const lane = lanesWanted === 1 ? 0 : hashSeries(lines[i]!) % lanesWanted;
    let batch = current[lane]!;
    if (
      batch.length > 0 &&
      (batch.length >= limits.batchLines || currentBytes[lane]! + size > limits.batchBytes)
    ) {
      lanes[lane]!.push(batch);
      batch = [];
      current[lane] = batch;
      currentBytes[lane] = 0;
    }
    batch.push(i);
    currentBytes[lane]! += size;
  }
  for (let l = 0; l < lanesWanted; l++) {
    if (current[l]!.length > 0) lanes[l]!.push(current[l]!);
  }
  return { lanes: lanes.filter((lane) => lane.length > 0), skipped };
}
