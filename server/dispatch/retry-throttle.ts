import { breakerKey, type BreakerTarget } from "./breaker.js";

/** The knobs of a retry throttle check; they come from the calling route's retry policy. */
export interface RetryThrottlePolicy {
  /** Size of a target's token bucket; retries stop at half of it or less. */
  throttleMaxTokens: number;
  /** Tokens a successful attempt gives back. */
  throttleTokenRatio: number;
}

/** One target's bucket, for metrics and tests. */
export interface RetryThrottleState {
  target: BreakerTarget;
  /** Tokens held now, in `[0, throttleMaxTokens]`. */
  tokens: number;
  /** Retries of this target refused since the process started. */
  throttled: number;
}

/**
 * gRPC A6 retry throttling, kept per target (provider, model and credential: the breaker's key),
 * per process. Every target starts with a full bucket of `throttleMaxTokens`; a failed attempt of
 * a retryable kind takes one token, a success gives back `throttleTokenRatio`, and a retry of the
 * target is allowed only while it holds more than half of its bucket. Under a total outage the
 * bucket drains within a handful of failures and the target is then tried once per request: the
 * retry ratio converges to 0 instead of the Envoy budget's "20 % of the requests in flight", which
 * bounds concurrency, not the ratio (RELIABILITY P10). Once the target answers again every request
 * still gets its one attempt, and the successes refill the bucket (by `throttleTokenRatio` each).
 *
 * It throttles attempts on a target the request has already tried, never the first attempt on a
 * target: a fallback to another target is that target's own first attempt, and gating it by any
 * bucket would strand a fallback-only target whose bucket drained once (only its successes refill
 * it, and it would get no attempts to succeed with). A dead fallback is the breaker's job.
 *
 * Like the breakers, a bucket is shared by every route using the target, and the calling route's
 * knobs apply to each call (tokens above a smaller route's maximum are clamped). Arithmetic is in
 * thousandths of a token, as A6 specifies, so ratios such as 0.1 add up exactly.
 */
export interface RetryThrottle {
  /** A failed attempt of a retryable kind: one token less for `target`. */
  recordFailure(target: BreakerTarget, policy: RetryThrottlePolicy): void;
  /** A successful attempt: `throttleTokenRatio` tokens more for `target`. */
  recordSuccess(target: BreakerTarget, policy: RetryThrottlePolicy): void;
  /** Whether another attempt on `target` may start now; a refusal is counted. */
  allowRetry(target: BreakerTarget, policy: RetryThrottlePolicy): boolean;
  /** Every bucket and its count now (metrics). */
  states(): RetryThrottleState[];
}

interface Bucket {
  target: BreakerTarget;
  /** Thousandths of a token. */
  milli: number;
  throttled: number;
}

const MILLI = 1000;

/** Creates an empty set of per-target buckets (one per process, injected where it is shared). */
export function createRetryThrottle(): RetryThrottle {
  const buckets = new Map<string, Bucket>();
  const maxMilli = (p: RetryThrottlePolicy): number => Math.max(0, Math.round(p.throttleMaxTokens * MILLI));

  const bucketOf = (target: BreakerTarget, policy: RetryThrottlePolicy): Bucket => {
    const key = breakerKey(target);
    const max = maxMilli(policy);
    let bucket = buckets.get(key);
    if (!bucket) {
      const own: BreakerTarget = { provider: target.provider, model: target.model };
      if (target.credential !== undefined) own.credential = target.credential;
      bucket = { target: own, milli: max, throttled: 0 };
      buckets.set(key, bucket);
    }
    bucket.milli = Math.min(bucket.milli, max);
    return bucket;
  };

  return {
    recordFailure(target, policy) {
      const bucket = bucketOf(target, policy);
      bucket.milli = Math.max(0, bucket.milli - MILLI);
    },
    recordSuccess(target, policy) {
      const bucket = bucketOf(target, policy);
      bucket.milli = Math.min(maxMilli(policy), bucket.milli + Math.round(policy.throttleTokenRatio * MILLI));
    },
    allowRetry(target, policy) {
      const bucket = bucketOf(target, policy);
      // A6: retries stop while tokens <= maxTokens / 2 (compared doubled to stay in integers).
      if (bucket.milli * 2 > maxMilli(policy)) return true;
      bucket.throttled++;
      return false;
    },
    states: () => [...buckets.values()].map((b) => ({ target: { ...b.target }, tokens: b.milli / MILLI, throttled: b.throttled })),
  };
}
