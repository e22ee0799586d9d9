import { describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { decodeBody, isRefusal } from "./request-body.js";

describe("decodeBody", () => {
  it("passes identity and unencoded bodies as they are", async () => {
    const wire = Buffer.from("cpu f=1 1");
    for (const encoding of [undefined, "identity"]) {
      const body = await decodeBody(wire, encoding, 100);
      expect(!isRefusal(body) && body.decoded).toBe(wire);
    }
  });

  it("gunzips concatenated members and keeps the wire bytes for forwarding", async () => {
    const wire = Buffer.concat([gzipSync("cpu f=1 1\n"), gzipSync("cpu f=2 2")]);
    const body = await decodeBody(wire, "gzip", 100);
    expect(isRefusal(body)).toBe(false);
    if (!isRefusal(body)) {
      expect(body.decoded.toString()).toBe("cpu f=1 1\ncpu f=2 2");
      expect(body.wire).toBe(wire);
      expect(body.encoding).toBe("gzip");
    }
  });

  it("refuses a body over the limit once gunzipped with InfluxDB 3's 413", async () => {
    const body = await decodeBody(gzipSync(Buffer.alloc(101, 97)), "gzip", 100);
    expect(body).toEqual({ status: 413, message: "max request size (100 bytes) exceeded" });
    const exact = await decodeBody(gzipSync(Buffer.alloc(100, 97)), "gzip", 100);
    expect(isRefusal(exact)).toBe(false);
  });

  it("refuses broken gzip with 400 and other encodings with 415", async () => {
    expect(await decodeBody(Buffer.from("not gzip"), "gzip", 100)).toMatchObject({ status: 400 });
    expect(await decodeBody(Buffer.from("x"), "br", 100)).toEqual({
      status: 415,
      message: 'unsupported content encoding "br": only gzip or identity',
    });
  });
});
