import { gunzipSync } from "node:zlib";
import type { Gzip } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BatchPlanner } from "./batching.js";
import type { PlannedBatch } from "./batching.js";
import { BodyEncoder } from "./body.js";
import type { EncodedBody } from "./body.js";

function text(body: EncodedBody): Buffer {
  return body.gzipped ? gunzipSync(body.bytes) : body.bytes;
}

function encode(lines: string[], thresholdBytes: number, chunkBytes?: number) {
  const encoder = new BodyEncoder({ level: 1, thresholdBytes }, chunkBytes);
  const sizes = lines.map((line) => encoder.append(line));
  return { encoder, sizes, body: encoder.finish() };
}

// Any UTF-16: multi-byte characters, surrogate pairs and lone surrogates (written as U+FFFD, 3 bytes).
const anyLine = fc.string({ unit: "binary", maxLength: 40 });

describe("BodyEncoder", () => {
  it("writes the lines as UTF-8 joined by newlines, gzipped only over the threshold", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyLine, { minLength: 1, maxLength: 60 }),
        fc.constantFrom(0, 1, 50, 300, 1e9),
        fc.integer({ min: 1, max: 200 }),
        async (lines, thresholdBytes, chunkBytes) => {
          const { encoder, sizes, body } = encode(lines, thresholdBytes, chunkBytes);
          const expected = Buffer.from(lines.join("\n"), "utf8");
          const encoded = await body;
          expect(text(encoded).equals(expected)).toBe(true);
          expect(encoded.gzipped).toBe(expected.length > thresholdBytes);
          expect(sizes).toEqual(lines.map((line) => Buffer.byteLength(line) + 1));
          expect(encoder.length).toBe(expected.length + 1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("compresses a body of many default-sized chunks, and a line larger than a chunk", async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `cpu,host=h${i % 13},zone=é usage=${i} ${i}`);
    lines.splice(20_000, 0, `big f="${"x".repeat(600_000)}"`);
    const { body } = encode(lines, 1000);
    const encoded = await body;
    expect(encoded.gzipped).toBe(true);
    expect(text(encoded).equals(Buffer.from(lines.join("\n")))).toBe(true);
  });

  it("gives the same body to every finish, and none after a discard", async () => {
    const { encoder, body } = encode(["a f=1", "b f=2"], 0, 4);
    expect(encoder.finish()).toBe(body);
    expect(text(await body).toString()).toBe("a f=1\nb f=2");
    const dropped = new BodyEncoder({ level: 1, thresholdBytes: 0 }, 4);
    dropped.append("a f=1");
    dropped.append("b f=2");
    dropped.discard();
    await expect(dropped.finish()).rejects.toThrow(/discarded/);
  });
});

describe("BodyEncoder when gzip fails", () => {
  it("rejects the body, whether gzip failed before or after finish", async () => {
    for (const when of ["before", "after"] as const) {
      const encoder = new BodyEncoder({ level: 1, thresholdBytes: 0 }, 8);
      for (let i = 0; i < 10; i++) encoder.append(`m f=${i}`);
      const zip = (encoder as unknown as { zip: Gzip }).zip;
      const failing = new Promise((resolve) => zip.once("error", resolve));
      if (when === "after") {
        const body = encoder.finish();
        zip.destroy(new Error("zlib ran out of memory"));
        await expect(body).rejects.toThrow(/out of memory/);
      } else {
        zip.destroy(new Error("zlib ran out of memory"));
        await failing;
        await expect(encoder.finish()).rejects.toThrow(/out of memory/);
      }
    }
  });
});

describe("BatchPlanner with bodies", () => {
  it("encodes each batch as it plans it, cut exactly as without bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom("m", "m,t=é", "n,a=1"), anyLine), { maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 400 }),
        async (pairs, lanes, batchLines, batchBytes) => {
          const lines = pairs.map(([key, rest]) => `${key} f="${rest.replace(/[\n#]/g, "")}"`);
          const plan = (withBodies: boolean) => {
            const batches: PlannedBatch<string>[] = [];
            const planner = new BatchPlanner<string>(
              lanes,
              { batchLines, batchBytes },
              (_, batch) => batches.push(batch),
              () => undefined,
              withBodies ? () => new BodyEncoder({ level: 1, thresholdBytes: 100 }, 16) : undefined,
            );
            planner.add("call", lines, 0, lines.length);
            for (let lane = 0; lane < lanes; lane++) {
              const last = planner.take(lane);
              if (last) batches.push(last);
            }
            return batches;
          };
          const withBodies = plan(true);
          expect(withBodies.map(({ piece, bytes }) => ({ piece, bytes }))).toEqual(plan(false));
          for (const batch of withBodies) {
            const joined = batch.piece[0]!.indices.map((i) => lines[i]).join("\n");
            const body = text(await batch.body!.finish());
            expect(body.toString("utf8")).toBe(Buffer.from(joined).toString("utf8"));
            expect(body.length).toBe(batch.bytes);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
