import { describe, expect, it } from "vitest";
import { bodyExcerpt, describeStatus, localReadError, redact } from "./read-errors.js";

const context = { database: "edge", path: "/api/v3/query_sql", hasToken: true };

describe("localReadError", () => {
  it("is a LOCAL_READ PluginError naming what was read, without the token", () => {
    const error = localReadError('reading table "cpu"', "the server said secret-tok", "secret-tok");
    expect(error.code).toBe("LOCAL_READ");
    expect(error.message).toBe('[edr-plugin] reading table "cpu" failed: the server said <redacted>');
  });

  it("leaves text alone without a token", () => {
    expect(redact("abc", undefined)).toBe("abc");
    expect(redact("abc", "")).toBe("abc");
  });
});

describe("describeStatus", () => {
  it("says a database is missing", () => {
    expect(describeStatus(404, "Not Found", '{"error":"database not found: edge"}\n', context)).toBe(
      'database "edge" not found on the local instance (404 Not Found: {"error":"database not found: edge"})',
    );
  });

  it("asks whether the server serves the endpoint on another 404", () => {
    expect(describeStatus(404, "Not Found", "404 page not found", context)).toBe(
      "the local instance answered 404 Not Found: 404 page not found (does it serve /api/v3/query_sql?)",
    );
  });

  it("says whether a token was sent on 401 and 403", () => {
    expect(describeStatus(401, "Unauthorized", "", { ...context, hasToken: false })).toBe(
      "the local instance answered 401 Unauthorized: (empty body); no local token was given (set local_token)",
    );
    expect(describeStatus(403, "Forbidden", "no", context)).toBe(
      "the local instance answered 403 Forbidden: no; the local token was refused",
    );
  });

  it("cuts a long body", () => {
    expect(bodyExcerpt(`  ${"x".repeat(2000)}  `)).toBe(`${"x".repeat(1000)}…`);
  });
});
