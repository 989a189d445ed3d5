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
export interface KeyCache {
  get(secretHmac: string): CachedKey | undefined;
  set(secretHmac: string, entry: CachedKey): void;
  delete(secretHmac: string): void;
  /** Drops every entry of one key (all its secrets): after revoke, rotate or update on this replica. */
  forgetKey(keyId: string): void;
  readonly size: number;
}

/**
 * Creates a {@link KeyCache} holding at most `maxEntries` keys. Entries are keyed by the HMAC, never
 * by the secret, so the cache holds nothing a heap dump could replay.
 */
export function createKeyCache(maxEntries: number): KeyCache {
  const entries = new Map<string, CachedKey>();
  return {
    get(secretHmac) {
      const entry = entries.get(secretHmac);
      if (entry !== undefined) {
        // Map keeps insertion order: re-inserting marks the entry most recently used.
        entries.delete(secretHmac);
        entries.set(secretHmac, entry);
      }
      return entry;
    },
    set(secretHmac, entry) {
      entries.delete(secretHmac);
      entries.set(secretHmac, entry);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
    delete(secretHmac) {
      entries.delete(secretHmac);
    },
    forgetKey(keyId) {
      for (const [hmac, entry] of entries) if (entry.principal.keyId === keyId) entries.delete(hmac);
    },
    get size() {
      return entries.size;
    },
  };
}
