import type { TokenUsage } from "../providers/model.js";
import type { ModelPrice, PriceBook, PriceQuote, TokenRates } from "./price-table.js";

const PER_MILLION = 1_000_000n;

/**
 * The cost of one provider call in integer micro-USD, computed exactly.
 *
 * Components, each `tokens × rate` with rates in micro-USD per million tokens:
 * - uncached input = input − cached − cache-write (never below zero),
 * - cached input, cache-write input,
 * - visible output = output − reasoning (never below zero), and reasoning at its own rate.
 *
 * Counts the provider reported that do not add up (more cached than input tokens) are billed as
 * reported rather than netted against each other: never undercharge.
 *
 * The sum is divided by one million **once**, rounding up. Rounding up because a budget must
 * never be undercharged (a call costing 0.3 µ$ is billed 1 µ$, not 0); once, at the end, so
 * the error is below 1 µ$ per call whatever the number of components — per-component rounding
 * would add up to 5 µ$ — and totals stay additive: the sum of billed attempts exceeds the exact
 * sum by less than 1 µ$ per attempt, which is what lets a report reconcile to the provider's
 * invoice within a known bound.
 *
 * When the price has a long-context tier and the call's input tokens exceed its threshold,
 * every token is billed at that tier's rates.
 */
export function costMicros(usage: TokenUsage, price: ModelPrice): bigint {
  const input = count("inputTokens", usage.inputTokens);
  const output = count("outputTokens", usage.outputTokens);
  const cached = count("cachedInputTokens", usage.cachedInputTokens);
  const written = count("cacheWriteInputTokens", usage.cacheWriteInputTokens);
  const reasoning = count("reasoningTokens", usage.reasoningTokens);
  const rates = ratesFor(price, input);
  const uncached = positive(input - cached - written);
  const visible = positive(output - reasoning);
  const total =
    uncached * BigInt(rates.input) +
    cached * BigInt(rates.cachedInput) +
    written * BigInt(rates.cacheWriteInput) +
    visible * BigInt(rates.output) +
    reasoning * BigInt(rates.reasoning);
  return ceilDiv(total, PER_MILLION);
}

/** The cost of a call as the budget and usage stages see it. */
export type CallCost =
  | {
      kind: "priced";
      micros: bigint;
      /** The price table version the cost was computed with (stored on the usage record). */
      priceVersion: string;
      /** The priced model the call's model resolved to. */
      pricedModel: string;
    }
  | {
      /** The model has no price: the caller applies its {@link UnpricedPolicy}. */
      kind: "unpriced";
      provider: string;
      model: string;
    };

/** Prices one call with the price in force when it was made. */
export function costOfCall(book: PriceBook, call: { provider: string; model: string; usage: TokenUsage; at: Date }): CallCost {
  const quote = book.priceAt(call.provider, call.model, call.at);
  if (quote === undefined) return { kind: "unpriced", provider: call.provider, model: call.model };
  return { kind: "priced", micros: costMicros(call.usage, quote.price), priceVersion: quote.version, pricedModel: quote.model };
}

/**
 * What to do with a model the price book does not know, as configuration data. Nothing here
 * chooses; the budget stage applies the configured policy:
 * - `refuse`: a call that falls under any spend cap is refused before dispatch (it cannot be
 *   reserved), the fail-closed default (RELIABILITY P7: never admit unpriced spend);
 * - `default_price`: price it at `price`, recorded under `version` so such usage can be found
 *   and re-priced later.
 */
export type UnpricedPolicy = { kind: "refuse" } | { kind: "default_price"; price: ModelPrice; version: string };

/**
 * The price to use for `model` under `policy`: the book's quote, the policy's default, or
 * `undefined` when the policy refuses.
 */
export function resolvePrice(book: PriceBook, provider: string, model: string, at: Date, policy: UnpricedPolicy): PriceQuote | undefined {
  const quote = book.priceAt(provider, model, at);
  if (quote !== undefined || policy.kind === "refuse") return quote;
  return { price: policy.price, version: policy.version, model, effectiveFrom: new Date(0) };
}

function ratesFor(price: ModelPrice, inputTokens: bigint): TokenRates {
  const tier = price.longContext;
  return tier !== undefined && inputTokens > BigInt(tier.aboveInputTokens) ? tier.rates : price;
}

function count(field: keyof TokenUsage, value: number | boolean): bigint {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`usage.${field} must be a non-negative integer, got ${String(value)}`);
  }
  return BigInt(value);
}

const positive = (n: bigint): bigint => (n > 0n ? n : 0n);

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}
