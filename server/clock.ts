/**
 * The source of "now" for everything that compares times (key expiry, rotation grace, cache
 * freshness). Injected, so tests move time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
