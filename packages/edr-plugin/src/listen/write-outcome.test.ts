import { describe, expect, it } from "vitest";
import { errorMessage, judgeAnswer } from "./write-outcome.js";

const sent = ["cpu f=1 1", 'cpu f="x" 2', "cpu g=1 3", "mem f=1 4"];

describe("judgeAnswer", () => {
  it("reads 2xx as everything stored and non-line errors as nothing", () => {
    expect(judgeAnswer(204, "", () => sent)).toEqual({ kind: "all" });
    expect(judgeAnswer(401, '{"error":"the request was not authenticated"}', () => sent)).toEqual({
      kind: "none",
    });
    expect(judgeAnswer(500, "boom", () => sent)).toEqual({ kind: "none" });
    expect(judgeAnswer(400, '{"error":"database is required"}', () => sent)).toEqual({ kind: "none" });
  });

  it("maps a v3 partial write to the lines it lists (1-based line_number, original_line checked)", () => {
    const body = JSON.stringify({
      error: "partial write of line protocol occurred",
      data: [
        { error_message: "invalid column type", line_number: 2, original_line: 'cpu f="x" 2' },
        { error_message: "bad", line_number: 4, original_line: "mem f=1 4" },
      ],
    });
    const verdict = judgeAnswer(400, body, () => sent);
    expect(verdict.kind).toBe("some");
    expect(verdict.kind === "some" && [...verdict.rejected.keys()]).toEqual([1, 3]);
  });

  it("reads a whole-batch rejection (accept_partial=false, v1 and v2 on InfluxDB 3) as nothing stored", () => {
    const v1 = JSON.stringify({
      error: "line protocol parsing error",
      data: { error_message: "x", line_number: 2, original_line: 'cpu f="x" 2' },
    });
    expect(judgeAnswer(400, v1, () => sent)).toEqual({ kind: "none" });
    const v2 = JSON.stringify({ code: "invalid", message: "line protocol parsing error: line 2: x" });
    expect(judgeAnswer(400, v2, () => sent)).toEqual({ kind: "none" });
  });

  it("does not guess from a partial-write body that does not match the lines sent", () => {
    const body = JSON.stringify({
      error: "partial write of line protocol occurred",
      data: [{ error_message: "x", line_number: 2, original_line: "something else" }],
    });
    expect(judgeAnswer(400, body, () => sent).kind).toBe("unknown");
  });

  it("reads InfluxDB 1.x's partial writes and type conflicts as unknown (some lines may be stored)", () => {
    const partial = '{"error":"partial write: unable to parse \'m f=bad 2\': invalid boolean dropped=0"}';
    expect(judgeAnswer(400, partial, () => sent)).toEqual({
      kind: "unknown",
      reason: "partial write: unable to parse 'm f=bad 2': invalid boolean dropped=0",
    });
    expect(judgeAnswer(400, '{"error":"field type conflict"}', () => sent).kind).toBe("unknown");
    // Every line failed to parse: 1.x stored nothing and says so without "partial write".
    expect(judgeAnswer(400, '{"error":"unable to parse \'x\': missing fields"}', () => sent)).toEqual({
      kind: "none",
    });
  });

  it("reads error messages of both styles", () => {
    expect(errorMessage('{"error":"a"}')).toBe("a");
    expect(errorMessage('{"code":"invalid","message":"b"}')).toBe("b");
    expect(errorMessage("max request size (1 bytes) exceeded")).toBeUndefined();
    expect(errorMessage("{broken")).toBeUndefined();
  });
});
