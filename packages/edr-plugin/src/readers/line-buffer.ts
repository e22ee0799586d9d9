const LF = 10;
const CR = 13;

/** Called for each complete line: the line is `bytes[start, end)`, without its `\n` (or `\r\n`). */
export type LineHandler = (bytes: Buffer, start: number, end: number) => void;

/**
 * Splits a streamed body into lines without copying its pieces: a line inside one piece is handed over as
 * a range of that piece; only a line split across pieces is joined. Blank lines are skipped.
 *
 * Every line of a JSON-lines answer ends with `\n`, and JSON cannot hold a raw newline (nor does UTF-8
 * use the byte 0x0A inside a character), so `\n` is always a line break; InfluxDB 3's v1 `/query` ends its
 * JSON documents with `\r\n`, hence the `\r`.
 */
export class LineBuffer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Takes the next piece of the body and calls `onLine` for every line it completes. */
  push(piece: Buffer, onLine: LineHandler): void {
    let newline = piece.indexOf(LF);
    if (newline < 0) {
      this.keep(piece);
      return;
    }
    let start = 0;
    if (this.pendingBytes > 0) {
      this.keep(piece.subarray(0, newline));
      const line = this.rest();
      this.pending = [];
      this.pendingBytes = 0;
      emit(line, 0, line.length, onLine);
      start = newline + 1;
      newline = piece.indexOf(LF, start);
    }
    while (newline >= 0) {
      emit(piece, start, newline, onLine);
      start = newline + 1;
      newline = piece.indexOf(LF, start);
    }
    if (start < piece.length) this.keep(piece.subarray(start));
  }

  /** The bytes after the last newline: empty when the body ended with a complete line. */
  rest(): Buffer {
    // A long line across many pieces is joined once, when it ends.
    return this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.pending.push(part);
    this.pendingBytes += part.length;
  }
}

function emit(bytes: Buffer, start: number, end: number, onLine: LineHandler): void {
  if (end > start && bytes[end - 1] === CR) end--;
  if (end > start) onLine(bytes, start, end);
}
