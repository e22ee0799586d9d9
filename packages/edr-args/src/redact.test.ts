import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { parseScheduledConfig } from "./parse-config.js";
import { REDACTED, redactConfig } from "./redact.js";

describe("redactConfig", () => {
  const config = parseScheduledConfig(
    "host=12.4.0.1,token=remote-secret-1,local_token=local-secret-2,database=d,window=1h",
    {
      env: {},
    },
  );

  it("replaces both tokens, so printing the copy shows neither", () => {
    const safe = redactConfig(config);
    const printed = `${inspect(safe, { depth: null })}${JSON.stringify(safe)}`;
    expect(printed).not.toMatch(/remote-secret-1|local-secret-2/);
    expect([safe.remote.token, safe.local.token]).toEqual([REDACTED, REDACTED]);
    expect(safe.windowMs).toBe(3_600_000);
  });

  it("leaves the original untouched", () => {
    redactConfig(config);
    expect([config.remote.token, config.local.token]).toEqual(["remote-secret-1", "local-secret-2"]);
  });

  it("adds no local token where there was none", () => {
    const withoutLocal = parseScheduledConfig("host=h,token=t,database=d,window=1h", { env: {} });
    expect(redactConfig(withoutLocal).local).toEqual({ url: "http://127.0.0.1:8181" });
  });
});
