import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateSecret } from "./key-format.js";
import { hashesEqual, hashSecret } from "./secret-hash.js";

describe("hashSecret", () => {
  it("is HMAC-SHA-256(pepper, secret) as 64 lowercase hex characters", () => {
    const secret = generateSecret();
    const pepper = "p".repeat(32);
    expect(hashSecret(secret, pepper)).toBe(createHmac("sha256", pepper).update(secret).digest("hex"));
    expect(hashSecret(secret, pepper)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("depends on the pepper: a database dump alone cannot test guesses", () => {
    const secret = generateSecret();
    expect(hashSecret(secret, "a".repeat(32))).not.toBe(hashSecret(secret, "b".repeat(32)));
  });
});

describe("hashesEqual", () => {
  it("compares digests", () => {
    const a = hashSecret(generateSecret(), "p".repeat(32));
    expect(hashesEqual(a, a)).toBe(true);
    expect(hashesEqual(a, `${a.slice(0, -1)}${a.endsWith("0") ? "1" : "0"}`)).toBe(false);
    expect(hashesEqual(a, a.slice(1))).toBe(false);
    expect(hashesEqual("", "")).toBe(true);
  });
});
