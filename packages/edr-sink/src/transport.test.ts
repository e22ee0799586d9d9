import { describe, expect, it } from "vitest";
import { writePathFor } from "./transport.js";

describe("writePathFor", () => {
  it("names the database and precision the way each endpoint wants them", () => {
    expect(writePathFor("v3", "db")).toBe("/api/v3/write_lp?db=db&precision=nanosecond&accept_partial=true");
    expect(writePathFor("v2", "db")).toBe("/api/v2/write?bucket=db&precision=ns");
    expect(writePathFor("v1", "db")).toBe("/write?db=db&precision=n");
  });
  it("encodes the database name", () => {
    expect(writePathFor("v1", "my db&x=1/é")).toBe("/write?db=my%20db%26x%3D1%2F%C3%A9&precision=n");
  });
});
