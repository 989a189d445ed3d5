import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The stored form of a secret: `HMAC-SHA-256(pepper, secret)` as 64 lowercase hex characters.
 *
 * One keyed fast hash is the right tool for 256-bit random secrets (a slow KDF protects
 * low-entropy passwords, §3.2). The pepper lives outside the database, so a dump of it alone
 * cannot be used to test guesses.
 */
export function hashSecret(secret: string, pepper: string): string {
  return createHmac("sha256", pepper).update(secret, "utf8").digest("hex");
}

/**
 * Compares two hex digests in constant time (for equal lengths): the only way the auth code
 * compares hashes. Different lengths are unequal at once — the length of a digest is public.
 */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}
