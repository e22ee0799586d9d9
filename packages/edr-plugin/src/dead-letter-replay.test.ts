import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSink, type Sink } from "edr-sink";
import { startInfluxDB3Server, type InfluxDB3TestServer } from "edr-testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { replayDeadLetters } from "./dead-letter-replay.js";
import { createDeadLetterStore, type DeadLetter, type DeadLetterStore } from "./dead-letters.js";

const quiet = { warn: () => {}, error: () => {} };

let dir: string;
let server: InfluxDB3TestServer;
let store: DeadLetterStore;
const sinks: Sink[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edr-replay-"));
  server = await startInfluxDB3Server({ token: "t" });
  store = await createDeadLetterStore({ dir, queueName: "writes" });
});

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
  await store.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function openSink(token = "t"): Sink {
  const sink = createSink({ url: server.url, token, database: "db", maxRetries: 0, logger: quiet });
  sinks.push(sink);
  return sink;
}

/** Sends `lines` and dead-letters what the remote refuses, as the replicator does; returns the letters. */
async function deadLetter(sink: Sink, lines: string[], firstOrdinal: number): Promise<DeadLetter[]> {
  const result = await sink.write(lines);
  const letters = result.outcomes.flatMap((outcome, i) =>
    outcome.kind === "rejected"
      ? [
          {
            line: lines[i]!,
            table: lines[i]!.split(/[ ,]/)[0]!,
            status: outcome.status,
            reason: outcome.message,
            time: "2026-01-01T00:00:00.000Z",
            ordinal: firstOrdinal + i,
          },
        ]
      : [],
  );
  await store.append(letters);
  return letters;
}

async function listAll(): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for await (const letter of store.list()) letters.push(letter);
  return letters;
}

describe("replayDeadLetters", () => {
  it("delivers letters refused for a type conflict once the schema is fixed, and keeps the still bad one", async () => {
    const sink = openSink();
    // v is an integer in m and n: the string lines conflict with it.
    await sink.write(["m v=1i 1", "n v=1i 1"]);
    const refused = await deadLetter(sink, ['m v="a" 2', 'm v="b" 3', 'n v="c" 4'], 10);
    expect(refused.map((l) => l.status)).toEqual([400, 400, 400]);
    expect(store.stats().letters).toBe(3);

    // The remote's schema is fixed for m (the database starts again), while n is still an integer.
    server.reset();
    await sink.write(["n v=1i 1"]);
    const result = await replayDeadLetters(store, sink, {
      batchLines: 2,
      now: () => new Date("2026-02-02T00:00:00Z"),
    });
    expect(result).toEqual({ delivered: 2, rejected: 1, notDelivered: 0, halted: undefined });
    expect(server.points("db", "m").map((p) => p.fields["v"])).toEqual([
      { type: "string", value: "a" },
      { type: "string", value: "b" },
    ]);
    const kept = await listAll();
    expect(kept).toEqual([{ ...refused[2]!, time: "2026-02-02T00:00:00.000Z", reason: kept[0]?.reason }]);
    expect(kept[0]!.reason).toMatch(/v/);
    expect(store.stats()).toMatchObject({ letters: 1 });
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);

    // The file was replaced: appends go to the new one and the high-water mark survives.
    expect(store.highestOrdinal()).toBe(12);
    expect(await store.append([{ ...refused[0]!, ordinal: 13 }])).toBe(1);
    expect((await listAll()).map((l) => l.ordinal)).toEqual([12, 13]);
  });

  it("empties the file when every letter is delivered", async () => {
    const sink = openSink();
    await sink.write(["m v=1i 1"]);
    await deadLetter(sink, ['m v="a" 2', 'm v="b" 3'], 0);
    server.reset();
    expect(await replayDeadLetters(store, sink)).toMatchObject({ delivered: 2, rejected: 0 });
    expect(await readFile(store.path, "utf8")).toBe("");
    expect(store.stats()).toMatchObject({ letters: 0, bytes: 0 });
  });

  it("sends only the letters the filter picks, keeping the others as they are", async () => {
    const sink = openSink();
    await sink.write(["m v=1i 1", "n v=1i 1"]);
    const refused = await deadLetter(sink, ['m v="a" 2', 'n v="b" 3'], 0);
    server.reset();
    const result = await replayDeadLetters(store, sink, { filter: (letter) => letter.table === "n" });
    expect(result).toMatchObject({ delivered: 1, rejected: 0 });
    expect(await listAll()).toEqual([refused[0]]);
    expect(server.points("db", "m")).toEqual([]);
  });

  it("halts on a 401 and keeps every letter, the file untouched", async () => {
    const sink = openSink();
    await sink.write(["m v=1i 1"]);
    await deadLetter(sink, ['m v="a" 2', 'm v="b" 3', 'm v="c" 4'], 0);
    const before = await readFile(store.path, "utf8");
    server.reset();
    const result = await replayDeadLetters(store, openSink("wrong"), { batchLines: 1 });
    expect(result.halted).toMatch(/^halted: 401/);
    expect(result).toMatchObject({ delivered: 0, rejected: 0, notDelivered: 1 });
    expect(await readFile(store.path, "utf8")).toBe(before);
    expect(server.points("db", "m")).toEqual([]);
  });

  it("replays the rotated file too, oldest first", async () => {
    await store.close();
    store = await createDeadLetterStore({ dir, queueName: "writes", maxBytes: 200 });
    const sink = openSink();
    await sink.write(["m v=1i 1"]);
    for (let i = 0; i < 3; i++) await deadLetter(sink, [`m v="${i}" ${i + 2}`], i);
    expect(store.stats().rotations).toBeGreaterThan(0);
    server.reset();
    const written: string[][] = [];
    const spy: Sink = { ...sink, write: (lines) => (written.push([...lines]), sink.write(lines)) };
    expect(await replayDeadLetters(store, spy, { batchLines: 1 })).toMatchObject({ delivered: 2 });
    expect(written).toEqual([['m v="1" 3'], ['m v="2" 4']]); // the first was discarded by a rotation
    expect(await listAll()).toEqual([]);
  });
});
