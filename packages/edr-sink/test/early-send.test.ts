// A lane sends only full batches while a call is planned (InfluxDB 3 answers after ~1 s, so each round
// trip should carry all it can), unless the remote has answered its last 8 requests within 100 ms: then
// idle lanes send what they have, and the remote works while the rest of the call is planned.
import { describe, expect, it } from "vitest";
import type { Sink } from "../src/index.js";
import { makeLines, useServer } from "./helpers.js";

const ctx = useServer();
/** 120k lines of 60 series, ~30 bytes each: ~900 KiB per lane, several times the 256 KiB sent early. */
const BIG = makeLines(60, 2000);

/**
 * Answers for the sink to judge the remote by: single-line calls on idle lanes go alone. A loaded test
 * machine may answer one of them late, so this goes on until the sink has seen 8 quick ones in a row.
 */
async function teach(sink: Sink, expectQuick: boolean): Promise<void> {
  const { transport } = (sink as unknown as { sender: { transport: { answersQuickly: boolean } } }).sender;
  for (let i = 0; i < (expectQuick ? 100 : 8); i++) {
    expect((await sink.write([`warm v=${i}i ${i}`])).requests).toBe(1);
    if (i >= 7 && transport.answersQuickly) break;
  }
  expect(transport.answersQuickly).toBe(expectQuick);
}

function expectEverySeriesInOrder(): void {
  const times = new Map<string, bigint[]>();
  for (const p of ctx.server.points("db")) {
    if (p.measurement !== "m") continue;
    times.set(p.tags.host!, [...(times.get(p.tags.host!) ?? []), p.timeNs]);
  }
  expect(times.size).toBe(60);
  const expected = Array.from({ length: 2000 }, (_, t) => BigInt(1_000_000 + t));
  for (const list of times.values()) expect(list).toEqual(expected);
}

describe("a big call", () => {
  it("goes in one request per lane to a remote the sink does not know yet", async () => {
    const sink = ctx.open({ maxInFlight: 4 });
    const result = await sink.write(BIG);
    expect(result.delivered).toBe(BIG.length);
    expect(result.requests).toBe(4);
  });

  it("leaves in several requests per lane, in order, once the remote has answered quickly", async () => {
    const sink = ctx.open({ maxInFlight: 4 });
    await teach(sink, true);
    const result = await sink.write(BIG);
    expect(result.delivered).toBe(BIG.length);
    expect(result.requests).toBeGreaterThan(4);
    expectEverySeriesInOrder();
  });

  it("goes in one request per lane again after a request got no answer", async () => {
    const sink = ctx.open({ maxInFlight: 4, maxRetries: 0 });
    await teach(sink, true);
    ctx.server.faults.dropNextConnection(1);
    expect((await sink.write(["lost v=1i 1"])).notDelivered).toBe(1);
    const result = await sink.write(BIG);
    expect(result.delivered).toBe(BIG.length);
    expect(result.requests).toBe(4);
  });

  it("still goes in one request per lane to a remote that takes over 100 ms to answer", async () => {
    const sink = ctx.open({ maxInFlight: 4 });
    ctx.server.faults.delay(150);
    await teach(sink, false);
    const result = await sink.write(BIG);
    expect(result.delivered).toBe(BIG.length);
    expect(result.requests).toBe(4);
    expectEverySeriesInOrder();
  });
});
