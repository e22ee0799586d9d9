import { open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";

import { FILE_MODE, mkdirPrivate, restrictExisting } from "./dead-letter-file.js";
import { syncDirectory } from "./dead-letters.js";
import { PluginError } from "./errors.js";

/** The version written in (and expected of) the watermark file. */
export const WATERMARK_FILE_VERSION = 1;

const INTEGER = /^-?(0|[1-9][0-9]*)$/;

/** Options of {@link createWatermarkStore}. */
export interface WatermarkStoreOptions {
  /** Directory of the file (the queue's directory); created when missing. */
  dir: string;
  /** The queue's name: the file is `edr_watermarks_<name>.json`. */
  name: string;
  /** Told when a corrupt file is moved aside. @default no-op */
  onWarning?: ((message: string) => void) | undefined;
}

/** Per table, the end (ns since the epoch) of the last window scheduled replication copied. */
export interface WatermarkStore {
  /** `join(dir, "edr_watermarks_<name>.json")`. */
  readonly path: string;
  /** The table's watermark in ns since the epoch, or undefined when none was set. */
  get(table: string): bigint | undefined;
  /** Every watermark (a live view: do not cast it to a Map to change it). */
  entries(): ReadonlyMap<string, bigint>;
  /**
   * Sets the table's watermark and writes the file atomically before it resolves (temp file, fsync, rename,
   * directory fsync; mode 0600). Rejects with a `PluginError` (`IO`) when the disk refuses, the watermark
   * unchanged.
   */
  set(table: string, ns: bigint): Promise<void>;
  /** Sets several watermarks in one atomic write: after a crash, all of them or none are new. */
  setMany(values: ReadonlyMap<string, bigint>): Promise<void>;
  /** Waits for a pending `set`; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens the watermark file, `{"version":1,"tables":{"<table>":"<ns as decimal string>"}}` (ns as a string
 * because it exceeds 2^53). A missing file is an empty store. A file that is not such JSON is moved aside to
 * `<path>.corrupt-<epoch ms>` with a warning, and the store starts empty. Rejects with a `PluginError` (`IO`)
 * when the file cannot be read.
 */
export async function createWatermarkStore(options: WatermarkStoreOptions): Promise<WatermarkStore> {
  const path = watermarkPath(options.dir, options.name);
  const warn = options.onWarning ?? (() => {});
  let text: string | undefined;
  try {
    await mkdirPrivate(options.dir);
    await restrictExisting(path);
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT")
      throw ioError(`cannot read the watermark file ${path}`, error);
  }
  // A temp file left by a crash mid-write is the new version that never got renamed: it is not trusted.
  await unlink(`${path}.tmp`).catch(() => {});
  const parsed = text === undefined ? new Map<string, bigint>() : parseWatermarks(text);
  if (typeof parsed === "string") return new FileWatermarkStore(path, await quarantine(path, parsed, warn));
  return new FileWatermarkStore(path, parsed);
}

/** The watermark file of a queue: `edr_watermarks_<name>.json` in its directory. */
export function watermarkPath(dir: string, name: string): string {
  return join(dir, `edr_watermarks_${name}.json`);
}

/**
 * Reads a queue's watermarks without opening the store (nothing is written or moved): an empty map when there
 * is no file, the problem as a string when the file is not a watermark file.
 */
export async function readWatermarks(dir: string, name: string): Promise<Map<string, bigint> | string> {
  const path = watermarkPath(dir, name);
  try {
    return parseWatermarks(await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw ioError(`cannot read the watermark file ${path}`, error);
  }
}

/** Parses the file's text, or returns what is wrong with it. */
export function parseWatermarks(text: string): Map<string, bigint> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (!isRecord(value)) return "not a JSON object";
  if (value["version"] !== WATERMARK_FILE_VERSION)
    return `version is ${JSON.stringify(value["version"])}, expected 1`;
  const tables = value["tables"];
  if (!isRecord(tables)) return `"tables" is not an object`;
  const watermarks = new Map<string, bigint>();
  for (const [table, ns] of Object.entries(tables)) {
    if (typeof ns !== "string" || !INTEGER.test(ns))
      return `the watermark of table ${JSON.stringify(table)} is ${JSON.stringify(ns)}, not an integer string`;
    watermarks.set(table, BigInt(ns));
  }
  return watermarks;
}

/** The file's text for a set of watermarks. */
export function serializeWatermarks(watermarks: ReadonlyMap<string, bigint>): string {
  // Object.fromEntries defines own properties, so a table named "__proto__" is a key, not a prototype.
  const tables = Object.fromEntries([...watermarks].map(([table, ns]) => [table, ns.toString()]));
  return JSON.stringify({ version: WATERMARK_FILE_VERSION, tables }, null, 2) + "\n";
}

class FileWatermarkStore implements WatermarkStore {
  private pending: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly path: string,
    private readonly watermarks: Map<string, bigint>,
  ) {}

  get(table: string): bigint | undefined {
    return this.watermarks.get(table);
  }

  entries(): ReadonlyMap<string, bigint> {
    return this.watermarks;
  }

  set(table: string, ns: bigint): Promise<void> {
    return this.setMany(new Map([[table, ns]]));
  }

  setMany(values: ReadonlyMap<string, bigint>): Promise<void> {
    if (this.closed)
      return Promise.reject(new PluginError("CLOSED", `the watermark store ${this.path} is closed`));
    const write = async (): Promise<void> => {
      const next = new Map(this.watermarks);
      for (const [key, ns] of values) next.set(key, ns);
      await writeAtomically(this.path, serializeWatermarks(next));
      for (const [key, ns] of values) this.watermarks.set(key, ns);
    };
    const run = this.pending.then(write, write);
    this.pending = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pending;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp`;
  try {
    const file = await open(temp, "w", FILE_MODE);
    try {
      // Whatever the umask, and a temp file left by a crash keeps its own mode when opened again.
      await file.chmod(FILE_MODE);
      await file.writeFile(text, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    await syncDirectory(path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw ioError(`cannot write the watermark file ${path}`, error);
  }
}

async function quarantine(
  path: string,
  problem: string,
  warn: (message: string) => void,
): Promise<Map<string, bigint>> {
  const aside = `${path}.corrupt-${Date.now()}`;
  try {
    await rename(path, aside);
    await syncDirectory(path);
  } catch (error) {
    throw ioError(`cannot move the corrupt watermark file ${path} aside to ${aside}`, error);
  }
  warn(
    `[edr-plugin] the watermark file ${path} is corrupt (${problem}); moved it aside to ${aside}: ` +
      `catch-up restarts from the current window for every table`,
  );
  return new Map();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function ioError(message: string, cause: unknown): PluginError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new PluginError("IO", `${message}${detail}`, { cause });
}
