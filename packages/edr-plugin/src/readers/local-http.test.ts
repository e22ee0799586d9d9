import { describe, expect, it } from "vitest";
import { endpointUrl } from "./local-http.js";

describe("endpointUrl", () => {
  it("puts the endpoint under the source URL, keeping a path prefix", () => {
    expect(endpointUrl("http://127.0.0.1:8181", "api/v3/query_sql").href).toBe(
      "http://127.0.0.1:8181/api/v3/query_sql",
    );
    expect(
      endpointUrl("https://proxy.example/influx", "query", { db: "a b", q: "SHOW MEASUREMENTS" }).href,
    ).toBe("https://proxy.example/influx/query?db=a+b&q=SHOW+MEASUREMENTS");
    expect(endpointUrl("http://h:1/prefix/", "query").pathname).toBe("/prefix/query");
  });
});
