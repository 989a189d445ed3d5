import type { WindowHit } from "./state-backend.js";

/** The stored counts and clock position one sliding-window decision needs. */
export interface SlidingWindowInput {
  /** Units admitted in the previous fixed window. */
  previous: number;
  /** Units admitted so far in the current fixed window. */
  current: number;
  cost: number;
  limit: number;
  windowMs: number;
  /** Milliseconds since the current fixed window began, in `[0, windowMs)`. */
  elapsedMs: number;
}

/**
 * Decides one sliding-window-counter hit (see `StateBackend.hitWindow` for the contract).
 *
 * Pure integer arithmetic, exact below 2^53: the comparison is scaled by `windowMs` instead of
 * computing a fractional weight. The Redis Lua script performs the same steps in the same order,
 * so both backends return identical results for identical inputs.
 */
export function evaluateSlidingWindow(input: SlidingWindowInput): WindowHit {
  const { previous, current, cost, limit, windowMs: w, elapsedMs } = input;
  const weighted = previous * (w - elapsedMs);
  if (weighted + (current + cost) * w <= limit * w) {
    return { allowed: true, count: current + cost + Math.ceil(weighted / w), retryAfterMs: 0 };
  }
  const count = current + Math.ceil(weighted / w);
  const room = limit - current - cost;
  if (room >= 0) {
    // Fits later in this window, once the previous window's weight has decayed enough.
    return { allowed: false, count, retryAfterMs: w - Math.floor((room * w) / previous) - elapsedMs };
  }
  if (cost > limit) return { allowed: false, count, retryAfterMs: -1 };
  // Needs the next window, where today's count becomes the decaying previous one.
  const nextRoom = limit - cost;
  return { allowed: false, count, retryAfterMs: w - elapsedMs + (w - Math.floor((nextRoom * w) / current)) };
}
