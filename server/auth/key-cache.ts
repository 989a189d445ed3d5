import { createHmacLru, type HmacLru } from "./hmac-lru.js";
import type { Principal } from "./principal.js";

/** A validated key as the authenticator remembers it, under the HMAC of the secret presented. */
export interface CachedKey {
  principal: Principal;
  /** When the key expires (ms since epoch); unset: never. Checked on every use, not only on refresh. */
  expiresAt?: number;
  /** Set when the secret is a rotated-out one: when its grace ends. Checked on every use. */
  graceEndsAt?: number;
  /** When the database last confirmed the key (ms since epoch). */
  fetchedAt: number;
}

/** A bounded map from secret HMAC to {@link CachedKey}, least recently used evicted first. */
export type KeyCache = HmacLru<CachedKey>;

/**
 * Creates a {@link KeyCache} holding at most `maxEntries` keys. Entries are keyed by the HMAC, never
 * by the secret, so the cache holds nothing a heap dump could replay.
 */
export function createKeyCache(maxEntries: number): KeyCache {
  return createHmacLru<CachedKey>(maxEntries, (entry) => entry.principal.keyId);
}
