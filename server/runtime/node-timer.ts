/** The longest delay a Node timer holds (≈ 24.8 days): a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `setTimeout(fn, ms)` — or no timer at all when `ms` is beyond a Node timer's range: a deadline
 * that far out (a 720h route timeout, a 10-digit `connect-timeout-ms`) is one no call lives to
 * see, and the timer Node would make of it fires at once.
 */
export function timeoutWithin(fn: () => void, ms: number): NodeJS.Timeout | undefined {
  return ms > MAX_TIMER_MS ? undefined : setTimeout(fn, Math.max(0, ms));
}
