import { describe, expect, it } from "vitest";
import { RETRY_AFTER_CAP_MS, computeBackoffMs, decideRetry, parseRetryAfter } from "./retry-policy.js";
import type { RetryInput, RetryPolicyOptions } from "./retry-policy.js";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const policy: RetryPolicyOptions = {
  maxRetries: 3,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  random: () => 0.5,
  now: () => NOW,
};
const input = (over: Partial<RetryInput>): RetryInput => ({
  status: 204,
  attempt: 1,
  lineCount: 10,
  writeApi: "v3",
  ...over,
});

describe("parseRetryAfter", () => {
  it("reads delay-seconds", () => {
    expect(parseRetryAfter("7", NOW)).toBe(7000);
    expect(parseRetryAfter(" 0 ", NOW)).toBe(0);
    expect(parseRetryAfter(["2"], NOW)).toBe(2000);
  });
  it("reads an HTTP date relative to now, never negative", () => {
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(parseRetryAfter(new Date(NOW - 30_000).toUTCString(), NOW)).toBe(0);
  });
  it("caps at 10 minutes", () => {
    expect(parseRetryAfter("86400", NOW)).toBe(RETRY_AFTER_CAP_MS);
    expect(parseRetryAfter(new Date(NOW + 3_600_000).toUTCString(), NOW)).toBe(600_000);
  });
  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter("", NOW)).toBeUndefined();
    expect(parseRetryAfter("soon", NOW)).toBeUndefined();
    expect(parseRetryAfter("-5", NOW)).toBeUndefined();
  });
});

describe("computeBackoffMs", () => {
  it("draws uniformly below a ceiling that doubles and is capped (full jitter)", () => {
    const at = (r: number, retry: number) => computeBackoffMs(retry, { ...policy, random: () => r });
    expect(at(0.999999, 1)).toBe(999);
    expect(at(0.999999, 2)).toBe(1999);
    expect(at(0.999999, 3)).toBe(3999);
    expect(at(0.999999, 20)).toBe(59_999);
    expect(at(0, 5)).toBe(0);
    expect(at(0.5, 3)).toBe(2000);
  });
});

describe("decideRetry", () => {
  it("delivers on 2xx", () => {
    expect(decideRetry(input({ status: 204 }), policy)).toEqual({ action: "deliver" });
    expect(decideRetry(input({ status: 200 }), policy)).toEqual({ action: "deliver" });
  });
  it.each([429, 503])("waits Retry-After on %i, else backs off", (status) => {
    expect(decideRetry(input({ status, headers: { "retry-after": "12" } }), policy)).toEqual({
      action: "wait",
      afterMs: 12_000,
    });
    expect(decideRetry(input({ status, attempt: 2 }), policy)).toEqual({ action: "wait", afterMs: 1000 });
  });
  it.each([500, 502, 504, 507])("backs off with full jitter on %i", (status) => {
    expect(decideRetry(input({ status, attempt: 3 }), policy)).toEqual({ action: "wait", afterMs: 2000 });
  });
  it.each(["connection", "timeout"] as const)("backs off on a %s failure", (failure) => {
    expect(decideRetry(input({ status: 0, failure }), policy)).toEqual({ action: "wait", afterMs: 500 });
  });
  it("gives up once the retries are used, saying when to try again", () => {
    expect(decideRetry(input({ status: 503, attempt: 4, headers: { "retry-after": "3" } }), policy)).toEqual({
      action: "give_up",
      afterMs: 3000,
    });
    expect(
      decideRetry(input({ status: 0, failure: "connection", attempt: 4 }), { ...policy, maxRetries: 3 }),
    ).toEqual({
      action: "give_up",
      afterMs: 4000,
    });
  });
  it("splits on 413 and rejects a single line", () => {
    expect(decideRetry(input({ status: 413 }), policy)).toEqual({ action: "split" });
    expect(decideRetry(input({ status: 413, lineCount: 1 }), policy)).toEqual({ action: "reject" });
  });
  it("reads a v3 400/422 as a partial write", () => {
    expect(decideRetry(input({ status: 400 }), policy)).toEqual({ action: "partial" });
    expect(decideRetry(input({ status: 422 }), policy)).toEqual({ action: "partial" });
  });
  it.each(["v1", "v2"] as const)("bisects a %s 400, and rejects it for one line", (writeApi) => {
    expect(decideRetry(input({ status: 400, writeApi }), policy)).toEqual({ action: "bisect" });
    expect(decideRetry(input({ status: 400, writeApi, lineCount: 1 }), policy)).toEqual({ action: "reject" });
  });
  it.each([401, 403, 404, 405, 301])("halts on %i (nothing rejected)", (status) => {
    expect(decideRetry(input({ status }), policy)).toEqual({ action: "halt" });
  });
  it("halts on a TLS failure", () => {
    expect(decideRetry(input({ status: 0, failure: "tls" }), policy)).toEqual({ action: "halt" });
  });
});
