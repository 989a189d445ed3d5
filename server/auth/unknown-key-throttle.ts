import { addressGroup } from "./address-group.js";

/** Options of {@link createUnknownKeyThrottle}. */
export interface UnknownKeyThrottleOptions {
  /** Lookups a client address may start at once before it must wait for a refill (its bucket's size). */
  burst: number;
  /** Lookups given back to each address per minute, continuously (its refill rate). */
  perMinute: number;
  /** Addresses tracked at most; the least recently seen is forgotten first. */
  maxAddresses: number;
}

/**
 * The authenticator's per-address bound on database lookups of secrets it has no entry for: a
 * token bucket per client address ({@link addressGroup}: IPv6 by /64). A lookup takes a token when
 * it starts and gives it back when it found a key (revoked, expired and rotated-out ones too: a
 * client stuck on one of those is the refusal cache's to bound) or could not be answered (an
 * outage is not the client's doing). So only secrets that match no key at all — guesses, a
 * flood of random well-formed ones — use tokens up, and one address costs the database at most
 * `burst` lookups at once and `perMinute` a minute however fast it sends them.
 */
export interface UnknownKeyThrottle {
  /**
   * Takes a token for a lookup from `address` at `now`: 0 when taken, else how long (ms) until
   * one is back (nothing taken).
   */
  take(address: string, now: number): number;
  /** Gives back the token a lookup from `address` took. */
  giveBack(address: string): void;
  /** Addresses tracked (for tests: bounded by `maxAddresses`). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms since epoch). */
  at: number;
}

/** Creates an {@link UnknownKeyThrottle}. A `burst` of 0 turns it off: every lookup is let through. */
export function createUnknownKeyThrottle(opts: UnknownKeyThrottleOptions): UnknownKeyThrottle {
  const perMs = opts.perMinute / 60_000;
  // Insertion order is recency: a bucket is re-inserted whenever its address is seen, so an
  // address that keeps flooding stays tracked and the one evicted is the one quiet longest.
  const buckets = new Map<string, Bucket>();
  const refilled = (bucket: Bucket, now: number): void => {
    // A clock stepped back refills nothing and restarts the count from now.
    if (now > bucket.at) bucket.tokens = Math.min(opts.burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
  };
  return {
    take(address, now) {
      if (opts.burst <= 0) return 0;
      const group = addressGroup(address);
      const bucket = buckets.get(group) ?? { tokens: opts.burst, at: now };
      buckets.delete(group);
      buckets.set(group, bucket);
      if (buckets.size > opts.maxAddresses) buckets.delete(buckets.keys().next().value!);
      refilled(bucket, now);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      // (Less a hair, so that floating point's 1.0000000000000009 ms reads as the 1 ms it is.)
      return perMs > 0 ? Math.max(1, Math.ceil((1 - bucket.tokens) / perMs - 1e-6)) : 60_000;
    },
    giveBack(address) {
      if (opts.burst <= 0) return;
      const bucket = buckets.get(addressGroup(address));
      if (bucket !== undefined) bucket.tokens = Math.min(opts.burst, bucket.tokens + 1);
    },
    get size() {
      return buckets.size;
    },
  };
}
