/** The knobs of the full-jitter exponential backoff. */
export interface BackoffPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/**
 * The jittered wait before retry `n` (1 = the first retry): uniform in
 * `[0, min(maxBackoffMs, initialBackoffMs · 2^(n−1)))` (gRPC A6, Envoy full jitter).
 * `random` returns a number in `[0, 1)`.
 */
export function jitteredBackoffMs(n: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, n - 1));
  return Math.floor(random() * ceiling);
}

/** Inputs of {@link retryDelayMs}. */
export interface RetryDelayInput {
  /** Which retry this would be on the target (1 = the first retry). */
  retry: number;
  policy: BackoffPolicy;
  random: () => number;
  /** The provider's `retry-after`, if it sent one: a floor on the wait. */
  retryAfterMs?: number;
  /** A `retry-after` longer than this is not waited for: the target is left for the next one. */
  maxRetryAfterMs: number;
  now: number;
  /** The request's overall deadline (epoch ms). */
  deadline: number;
  /** The least time an attempt needs; a retry that would start with less left is not made. */
  minAttemptMs: number;
}

/** Why {@link retryDelayMs} will not retry the target: dispatch falls back instead. */
export type NoRetry =
  /** The provider asked for a longer wait than `maxRetryAfterMs`. */
  | "retry_after"
  /** The wait would leave less than `minAttemptMs` before the deadline. */
  | "deadline";

/**
 * How long to wait before retrying the same target, or why it must not be retried and dispatch
 * should fall back instead: the provider asked for longer than `maxRetryAfterMs`, or the wait
 * would leave less than `minAttemptMs` before the deadline. A retry never waits past the deadline.
 */
export function retryDelayMs(input: RetryDelayInput): number | NoRetry {
  const jitter = jitteredBackoffMs(input.retry, input.policy, input.random);
  const floor = input.retryAfterMs ?? 0;
  if (floor > input.maxRetryAfterMs) return "retry_after";
  const wait = Math.max(jitter, floor);
  if (input.now + wait + input.minAttemptMs > input.deadline) return "deadline";
  return wait;
}
