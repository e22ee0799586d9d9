import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_RETRIES, resolveOptions } from "./options.js";

describe("resolveOptions", () => {
  it("takes a remote config as edr-args returns it, its own fields ignored", () => {
    // The shape of edr-args' RemoteConfig (this package imports nothing of edr-args).
    const remote = {
      url: "https://proxy.example:443/influx",
      protocol: "https" as const,
      hostname: "proxy.example",
      port: 443,
      portOverride: 9000,
      token: "t0ken",
      database: "replica",
      writeApi: "v2" as const,
      verifySsl: true,
      maxRetries: 5,
      batchLines: 10,
      batchBytes: 1000,
      maxInFlight: 2,
      timeoutMs: 5000,
    };
    const resolved = resolveOptions(remote);
    expect(resolved.baseUrl.href).toBe("https://proxy.example/influx");
    expect([resolved.writeApi, resolved.maxRetries, resolved.batchLines]).toEqual(["v2", 5, 10]);
  });

  it("sends to `port`: it replaces the URL's port, and the URL's port stays when it is absent", () => {
    expect(resolveOptions({ url: "http://127.0.0.1:8181", port: 9000, database: "d" }).baseUrl.port).toBe(
      "9000",
    );
    expect(resolveOptions({ url: "http://127.0.0.1:8181", database: "d" }).baseUrl.port).toBe("8181");
    expect(resolveOptions({ url: "http://[::1]:8181", port: 8181, database: "d" }).baseUrl.host).toBe(
      "[::1]:8181",
    );
  });

  it("counts maxRetries as retries after the first attempt, 0 allowed, default 3", () => {
    expect(resolveOptions({ url: "http://h", database: "d" }).maxRetries).toBe(DEFAULT_MAX_RETRIES);
    expect(resolveOptions({ url: "http://h", database: "d", maxRetries: 0 }).maxRetries).toBe(0);
    expect(() => resolveOptions({ url: "http://h", database: "d", maxRetries: -1 })).toThrow(
      "maxRetries: expected an integer >= 0, got -1",
    );
  });
});
