/** The largest token count read from a provider: far past any call, and a sum of a few stays an exact integer. */
const MAX_TOKENS = 2 ** 48;

/**
 * A provider-reported token count as the ledger can hold it: a whole number from 0 to 2^48.
 * Anything else a provider sends — absent, null, negative, NaN, a fraction, a count past 2^53 —
 * is read as 0, rounded down, or capped, so what a provider says it used is always priceable and
 * the paid attempt reaches the ledger (P3) instead of failing its pricing.
 */
export function tokenCount(value: unknown): number {
  if (typeof value !== "number" || !(value > 0)) return 0;
  return value >= MAX_TOKENS ? MAX_TOKENS : Math.floor(value);
}
