import { randomBytes } from "node:crypto";

/** Prefixes of the internal ids the store generates, one per resource kind. */
export type IdPrefix = "org" | "team" | "key" | "route" | "prompt" | "budget" | "ratelimit" | "cred" | "grpolicy";

/**
 * A new opaque internal id: `<prefix>_` + creation time (ms, base36, 9 chars) + 72 random bits
 * (base36, 14 chars). Lowercase letters and digits only, so ordering by id is ordering by
 * creation time under any collation; list pages use it as their stable sort key.
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  const time = Math.max(0, Math.floor(nowMs)).toString(36).padStart(9, "0");
  const random = BigInt(`0x${randomBytes(9).toString("hex")}`).toString(36).padStart(14, "0");
  return `${prefix}_${time}${random}`;
}
