// Text out of a Buffer's bytes, at the least cost per string: the JSON scanner reads an answer as the bytes
// came off the socket and decodes only the strings it returns, each a copy of its own (see json-scanner.ts
// for why bytes and not text). Apart from the scanner because these lean on Buffer internals, with the
// public path as the fallback.

/**
 * Buffer's own decoders, which `buffer.toString(encoding, start, end)` calls after checking its arguments:
 * called directly they take a fifth less time per row, and a row has a string for every tag. Long-standing
 * but undocumented, so the public path stands in wherever they are missing.
 */
interface BufferDecoders {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const DIRECT_DECODERS =
  typeof (Buffer.prototype as Partial<BufferDecoders>).latin1Slice === "function" &&
  typeof (Buffer.prototype as Partial<BufferDecoders>).utf8Slice === "function";

/** `bytes[start, end)` as text, when every byte is ASCII. */
export function asciiText(bytes: Buffer, start: number, end: number): string {
  return DIRECT_DECODERS
    ? (bytes as unknown as BufferDecoders).latin1Slice(start, end)
    : bytes.toString("latin1", start, end);
}

/** `bytes[start, end)` decoded as UTF-8. */
export function utf8Text(bytes: Buffer, start: number, end: number): string {
  return DIRECT_DECODERS
    ? (bytes as unknown as BufferDecoders).utf8Slice(start, end)
    : bytes.toString("utf8", start, end);
}

/** Whether the ASCII string `text` is the bytes at `start` (the caller has checked that they fit). */
export function isTextOf(text: string, bytes: Buffer, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}
