import { describe, expect, it } from "vitest";
import { parsePartialWrite } from "./partial-write.js";

const sent = ["cpu f=1 1", 'cpu f="oops 2', "cpu f=3 3", "mem,host=a\\ very\\ long\\ tag f=1 4"];

describe("parsePartialWrite", () => {
  it("maps 1-based line numbers to the lines sent", () => {
    const body = JSON.stringify({
      error: "partial write of line protocol occurred",
      data: [
        { error_message: "bad string", line_number: 2, original_line: 'cpu f="oops 2' },
        { error_message: "too long", line_number: 4, original_line: "mem,host=a\\ very\\ lo" },
      ],
    });
    expect(parsePartialWrite(body, sent)).toEqual({
      kind: "partial",
      rejected: new Map([
        [1, "bad string"],
        [3, "too long"],
      ]),
    });
  });
  it("reads the single-entry body of a write that stored nothing", () => {
    const body = JSON.stringify({
      error: "line protocol parsing error",
      data: { error_message: "bad", line_number: 1, original_line: "cpu f=1 1" },
    });
    expect(parsePartialWrite(body, sent)).toEqual({ kind: "whole", rejected: new Map([[0, "bad"]]) });
  });
  it("accepts an original_line cut inside a multi-byte character", () => {
    const body = JSON.stringify({
      data: [{ error_message: "x", line_number: 1, original_line: "m,t=\uFFFD" }],
    });
    expect(parsePartialWrite(body, ["m,t=é f=1"])?.rejected.get(0)).toBe("x");
  });
  it.each([
    ["not JSON", "<html>"],
    ["no data", JSON.stringify({ error: "boom" })],
    ["empty list", JSON.stringify({ error: "x", data: [] })],
    ["line out of range", JSON.stringify({ data: [{ error_message: "x", line_number: 5 }] })],
    ["line number 0", JSON.stringify({ data: [{ error_message: "x", line_number: 0 }] })],
    ["a line that was not sent there", JSON.stringify({ data: [{ line_number: 1, original_line: "mem" }] })],
  ])("returns undefined for %s", (_, body) => {
    expect(parsePartialWrite(body, sent)).toBeUndefined();
  });
});
