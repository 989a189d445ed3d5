import { crc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksum, generateSecret, parseSecret } from "./key-format.js";

/**
 * The README's recipe for a secret scanner, written independently of the implementation:
 * CRC32 of everything before the last 6 characters, base62 (0-9A-Za-z), zero-padded to 6.
 */
function scannerAccepts(candidate: string): boolean {
  if (!/^sb_[a-z]+_[0-9A-Za-z]{49}$/.test(candidate)) return false;
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let n = crc32(candidate.slice(0, -6));
  let sum = "";
  for (let i = 0; i < 6; i++) {
    sum = alphabet[n % 62]! + sum;
    n = Math.floor(n / 62);
  }
  return sum === candidate.slice(-6);
}

describe("virtual key format", () => {
  it("is sb_live_ + 43 random base62 characters + a 6-character checksum", () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^sb_live_[0-9A-Za-z]{49}$/);
    expect(secret).toHaveLength(57);
    expect(parseSecret(secret)).toEqual({ environment: "live", displayPrefix: secret.slice(0, 12) });
    expect(scannerAccepts(secret)).toBe(true);
  });

  it("never repeats and spreads over the whole alphabet", () => {
    const secrets = Array.from({ length: 2000 }, () => generateSecret());
    expect(new Set(secrets).size).toBe(secrets.length);
    const used = new Set(secrets.flatMap((s) => [...s.slice(8, 51)]));
    expect(used.size).toBe(62);
  });

  it("rejects any single-character change (CRC32 catches every one)", () => {
    const secret = generateSecret();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: secret.length - 1 }), fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"), (at, ch) => {
        fc.pre(secret[at] !== ch);
        const mutated = secret.slice(0, at) + ch + secret.slice(at + 1);
        expect(parseSecret(mutated)).toBeUndefined();
        expect(scannerAccepts(mutated)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it("parses arbitrary input without throwing, accepting only well-formed keys", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (input) => {
        const parsed = parseSecret(input);
        if (parsed !== undefined) expect(scannerAccepts(input)).toBe(true);
      }),
      { numRuns: 5000 },
    );
    for (const bad of ["", "sb_live_", "Bearer sb_live_x", `${generateSecret()} `, `sb_LIVE_${"a".repeat(49)}`, "ghp_" + "a".repeat(36)]) {
      expect(parseSecret(bad)).toBeUndefined();
    }
  });

  it("binds the environment word into the checksum", () => {
    const secret = generateSecret("live");
    const asTest = `sb_test_${secret.slice(8)}`;
    expect(parseSecret(asTest)).toBeUndefined();
    const test = generateSecret("test");
    expect(parseSecret(test)?.environment).toBe("test");
    expect(checksum(test.slice(0, -6))).toBe(test.slice(-6));
  });
});
