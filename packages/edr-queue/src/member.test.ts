import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createFflateCodec, createZlibCodec } from "./codec.js";
import { decodeMember, encodeHeader, encodeTrailer, parseHeader } from "./member.js";

const text = Buffer.from('{"table":"t","line":"t v=1 1"}\n');

/** A foreign member using every optional header field: FEXTRA (someone else's subfield), FNAME, FCOMMENT, FHCRC. */
function fancyMember(): Buffer {
  const extra = Buffer.from([0x41, 0x70, 2, 0, 0xaa, 0xbb]);
  const head = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3]),
    Buffer.from([extra.length, 0]),
    extra,
    Buffer.from("name.jsonl\0comment\0"),
  ]);
  const hcrc = Buffer.alloc(2);
  hcrc.writeUInt16LE(crc32(head) & 0xffff);
  return Buffer.concat([head, hcrc, deflateRawSync(text), encodeTrailer(text)]);
}

describe("gzip members", () => {
  it("parses every optional header field and inflates a foreign member to find its end", () => {
    const member = fancyMember();
    const both = Buffer.concat([member, gzipSync(text)]);
    const h = parseHeader(both, 0);
    expect(h).toMatchObject({ bodyLength: undefined, count: undefined });
    const d = decodeMember(both, 0, h as Exclude<typeof h, string>, createZlibCodec());
    expect(d).toMatchObject({ memberLength: member.length });
    expect(Buffer.from((d as { raw: Uint8Array }).raw).toString()).toBe(text.toString());
  });

  it("reads its own header back (length, count, append time) with either codec", () => {
    for (const codec of [createZlibCodec(), createFflateCodec()]) {
      const body = codec.deflateRaw(text);
      const member = Buffer.concat([
        encodeHeader(body.length, 1, 1_700_000_000_123),
        body,
        encodeTrailer(text),
      ]);
      const h = parseHeader(member, 0);
      expect(h).toEqual({ headerLength: 32, mtimeMs: 1_700_000_000_123, bodyLength: body.length, count: 1 });
      const d = decodeMember(member, 0, h as Exclude<typeof h, string>, codec);
      expect(d).toMatchObject({ memberLength: member.length });
    }
  });

  it("tells a torn header from bytes that are not gzip", () => {
    expect(parseHeader(Buffer.from([0x1f, 0x8b, 8]), 0)).toBe("short");
    expect(parseHeader(Buffer.from("hello world"), 0)).toBe("bad");
    expect(parseHeader(Buffer.from([0x1f, 0x8b, 8, 0xe0, 0, 0, 0, 0, 0, 0]), 0)).toBe("bad");
  });
});
