import { ceilDiv } from "./cost.js";
import type { ModelPrice, TokenRates } from "./price-table.js";

/** Input of {@link worstCaseMicros}. */
export interface WorstCaseInput {
  /** The gateway's count (or estimate) of the request's input tokens. */
  inputTokensEstimate: number;
  /**
   * The request's output cap — its max output tokens, or the configured default when it sets
   * none. Reasoning tokens count within it on every provider (RELIABILITY P1).
   */
  maxOutputTokens: number;
  /** The price of every target the route may dispatch to, fallbacks included. */
  prices: readonly ModelPrice[];
}

/**
 * The most one call can cost, in micro-USD: the maximum over the route's targets of that
 * target's worst case, because dispatch may fall back to any of them after the reservation.
 *
 * A target's worst case bills every input token at its dearest input rate (plain, cached or
 * cache-write: a prompt may be written to the cache) and every output token at the dearer of
 * the output and reasoning rates, at the long-context tier when the estimate crosses it — an
 * upper bound of `costMicros` for any usage within these counts. One call only: retries and
 * fallbacks are separate attempts, settled against the same reservation or extended.
 */
export function worstCaseMicros(input: WorstCaseInput): bigint {
  const { inputTokensEstimate: inTokens, maxOutputTokens: outTokens, prices } = input;
  for (const [name, value] of [["inputTokensEstimate", inTokens], ["maxOutputTokens", outTokens]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  if (prices.length === 0) throw new RangeError("worstCaseMicros needs the price of at least one target");
  let worst = 0n;
  for (const price of prices) {
    const tier = price.longContext;
    const rates: TokenRates = tier !== undefined && inTokens > tier.aboveInputTokens ? tier.rates : price;
    const inputRate = Math.max(rates.input, rates.cachedInput, rates.cacheWriteInput);
    const outputRate = Math.max(rates.output, rates.reasoning);
    const micros = ceilDiv(BigInt(inTokens) * BigInt(inputRate) + BigInt(outTokens) * BigInt(outputRate), 1_000_000n);
    if (micros > worst) worst = micros;
  }
  return worst;
}
