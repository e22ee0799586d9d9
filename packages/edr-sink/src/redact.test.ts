import { describe, expect, it } from "vitest";
import { redactToken, tokenForms } from "./redact.js";

const TOKEN = "apiv3_x9Q-2fT7kLmN0pRsUvWy==z";

describe("redactToken", () => {
  it("cuts the token out as is, URL-encoded, and base64-encoded at any alignment", () => {
    const texts = [
      `bad token ${TOKEN}`,
      `Authorization: Bearer ${TOKEN}`,
      `token=${encodeURIComponent(TOKEN)}`,
      `echo ${Buffer.from(`Bearer ${TOKEN}`).toString("base64")}`,
      `echo ${Buffer.from(`Token ${TOKEN}`).toString("base64url")}`,
      `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`,
      `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`,
      `Basic ${Buffer.from(`${TOKEN}`).toString("base64")}`,
    ];
    for (const text of texts) {
      const out = redactToken(text, TOKEN);
      expect(out, text).toContain("***");
      for (const form of tokenForms(TOKEN)) expect(out, text).not.toContain(form);
      expect(out).not.toContain(TOKEN);
    }
  });

  it("leaves a text without the token, and any text when there is no token, as it is", () => {
    const text = "the remote answered 401: unauthorized (QmVhcmVy)";
    expect(redactToken(text, TOKEN)).toBe(text);
    expect(redactToken(`x ${TOKEN}`, undefined)).toBe(`x ${TOKEN}`);
    expect(redactToken(`x ${TOKEN}`, "")).toBe(`x ${TOKEN}`);
  });

  it("cuts only the token itself out for a short token (its encodings would match ordinary text)", () => {
    expect(tokenForms("abc")).toEqual(["abc"]);
    expect(redactToken("xabcx YWJj", "abc")).toBe("x***x YWJj");
  });
});
