import { createHmacLru } from "./hmac-lru.js";

/** What the database answered for one secret HMAC: no usable key, asked at `askedAt`. */
interface Refusal {
  /** When the lookup that found no usable key was asked (ms since epoch): the refusal ages from then. */
  askedAt: number;
  /** The key the HMAC matched (revoked, expired, rotated out); unset: it matched none. */
  keyId: string | undefined;
}

/** Options of {@link createRefusalCache}. */
export interface RefusalCacheOptions {
  /** Refusals held at most; least recently used evicted first. */
  maxEntries: number;
  /** How long a refusal is trusted after its lookup was asked (0: never). */
  ttlMs: number;
}

/**
 * The authenticator's negative cache: secret HMACs the database recently said name no usable key
 * (unknown, revoked, expired, rotated out), so a secret presented again and again costs one lookup
 * per TTL. Keyed by the HMAC like the key cache, never by the secret.
 */
export interface RefusalCache {
  /** Whether `secretHmac` was refused by a lookup asked less than the TTL before `now` (a hit counts as a use). */
  has(secretHmac: string, now: number): boolean;
  /** Whether the refusal held for `secretHmac` is of a secret that matched a key (revoked, expired, rotated out). */
  matchedKey(secretHmac: string): boolean;
  /** Remembers that a lookup asked at `askedAt` found no usable key for `secretHmac` (`keyId`: the key it matched, if any). */
  add(secretHmac: string, askedAt: number, keyId: string | undefined): void;
  delete(secretHmac: string): void;
  /** Drops every refusal of one key: after it changed on this replica (an expiry lifted, say). */
  forgetKey(keyId: string): void;
  readonly size: number;
}

/**
 * Creates a {@link RefusalCache}. It is bounded on its own, apart from the key cache: anyone can
 * make refusals (a well-formed secret's checksum is public), and a flood of them must neither grow
 * memory nor evict the validated keys, which the key cache keeps serving during an outage.
 */
export function createRefusalCache(opts: RefusalCacheOptions): RefusalCache {
  const refusals = createHmacLru<Refusal>(opts.maxEntries, (refusal) => refusal.keyId);
  return {
    has(secretHmac, now) {
      const refusal = refusals.get(secretHmac);
      if (refusal === undefined) return false;
      // One asked "after" now predates a step back of the wall clock: its age is unknown.
      if (now >= refusal.askedAt && now - refusal.askedAt < opts.ttlMs) return true;
      refusals.delete(secretHmac);
      return false;
    },
    matchedKey: (secretHmac) => refusals.get(secretHmac)?.keyId !== undefined,
    add(secretHmac, askedAt, keyId) {
      if (opts.ttlMs <= 0) refusals.delete(secretHmac);
      else refusals.set(secretHmac, { askedAt, keyId });
    },
    delete: (secretHmac) => refusals.delete(secretHmac),
    forgetKey: (keyId) => refusals.forgetKey(keyId),
    get size() {
      return refusals.size;
    },
  };
}
