import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyUsage, type TokenUsage } from "../providers/model.js";
import { costMicros, costOfCall, resolvePrice } from "./cost.js";
import { createPriceBook, type ModelPrice, type TokenRates } from "./price-table.js";
import { worstCaseMicros } from "./worst-case.js";

const usage = (u: Partial<TokenUsage>): TokenUsage => ({ ...emptyUsage(), ...u });
const flat: ModelPrice = { input: 2_500_000, output: 10_000_000, cachedInput: 1_250_000, cacheWriteInput: 3_125_000, reasoning: 10_000_000 };

const arbRates: fc.Arbitrary<TokenRates> = fc.record({
  input: fc.integer({ min: 0, max: 100_000_000 }),
  output: fc.integer({ min: 0, max: 200_000_000 }),
  cachedInput: fc.integer({ min: 0, max: 100_000_000 }),
  cacheWriteInput: fc.integer({ min: 0, max: 150_000_000 }),
  reasoning: fc.integer({ min: 0, max: 200_000_000 }),
});
const arbPrice: fc.Arbitrary<ModelPrice> = fc
  .tuple(arbRates, fc.option(fc.tuple(fc.integer({ min: 1, max: 300_000 }), arbRates), { nil: undefined }))
  .map(([rates, tier]) => (tier === undefined ? rates : { ...rates, longContext: { aboveInputTokens: tier[0], rates: tier[1] } }));
const tokens = fc.integer({ min: 0, max: 2_000_000 });
const arbUsage: fc.Arbitrary<TokenUsage> = fc
  .record({ inputTokens: tokens, outputTokens: tokens, cachedInputTokens: tokens, cacheWriteInputTokens: tokens, reasoningTokens: tokens })
  .map((u) => ({ ...u, estimated: false }));
// Usage whose parts never clamp at zero (cached + cache-write ≤ input, reasoning ≤ output), built
// from its parts rather than filtered: a filter on arbUsage rejects most pairs and fast-check gives up.
const arbConsistentUsage: fc.Arbitrary<TokenUsage> = fc
  .record({ uncached: tokens, cached: tokens, write: tokens, visible: tokens, reasoning: tokens })
  .map((p) => ({
    inputTokens: p.uncached + p.cached + p.write,
    cachedInputTokens: p.cached,
    cacheWriteInputTokens: p.write,
    outputTokens: p.visible + p.reasoning,
    reasoningTokens: p.reasoning,
    estimated: false,
  }));

describe("costMicros", () => {
  it("bills zero usage nothing", () => {
    expect(costMicros(emptyUsage(), flat)).toBe(0n);
  });

  it("rounds up once, so a fraction of a micro-dollar is billed as one", () => {
    // 1 × 2.5 µ$ = 2.5 → 3; 3 × 2.5 = 7.5 → 8 (not 3 + 3 = 6 + rounding per part).
    expect(costMicros(usage({ inputTokens: 1 }), flat)).toBe(3n);
    expect(costMicros(usage({ inputTokens: 1, cachedInputTokens: 0, outputTokens: 0 }), { ...flat, input: 1 })).toBe(1n);
    // 1 uncached (2.5) + 1 cached (1.25) + 1 output (10) = 13.75 → 14, where rounding each part
    // up would give 3 + 2 + 10 = 15.
    expect(costMicros(usage({ inputTokens: 2, cachedInputTokens: 1, outputTokens: 1 }), flat)).toBe(14n);
  });

  it("never nets reported counts below zero: more cached than input bills as reported", () => {
    // uncached = max(0, 10 − 30) = 0; cached 30 × 1.25 = 37.5 → 38.
    expect(costMicros(usage({ inputTokens: 10, cachedInputTokens: 30 }), flat)).toBe(38n);
    // visible = max(0, 5 − 8) = 0; reasoning 8 × 10 = 80.
    expect(costMicros(usage({ outputTokens: 5, reasoningTokens: 8 }), flat)).toBe(80n);
  });

  it("bills reasoning at its own rate when one is set", () => {
    // visible 100 × 10 = 1000; reasoning 50 × 20 = 1000 → 2000.
    expect(costMicros(usage({ outputTokens: 150, reasoningTokens: 50 }), { ...flat, reasoning: 20_000_000 })).toBe(2000n);
  });

  it("rejects counts that are not non-negative integers", () => {
    expect(() => costMicros(usage({ inputTokens: -1 }), flat)).toThrow("usage.inputTokens");
    expect(() => costMicros(usage({ outputTokens: 1.5 }), flat)).toThrow("usage.outputTokens");
    expect(() => costMicros(usage({ cachedInputTokens: Number.NaN }), flat)).toThrow("usage.cachedInputTokens");
  });

  it("never undercharges and overcharges by less than 1 µ$ (property)", () => {
    fc.assert(
      fc.property(arbUsage, arbRates, (u, rates) => {
        // Exact cost in pico-dollars per token × tokens, compared without any rounding.
        const uncached = Math.max(0, u.inputTokens - u.cachedInputTokens - u.cacheWriteInputTokens);
        const visible = Math.max(0, u.outputTokens - u.reasoningTokens);
        const exact =
          BigInt(uncached) * BigInt(rates.input) +
          BigInt(u.cachedInputTokens) * BigInt(rates.cachedInput) +
          BigInt(u.cacheWriteInputTokens) * BigInt(rates.cacheWriteInput) +
          BigInt(visible) * BigInt(rates.output) +
          BigInt(u.reasoningTokens) * BigInt(rates.reasoning);
        const billed = costMicros(u, rates) * 1_000_000n;
        return billed >= exact && billed - exact < 1_000_000n;
      }),
    );
  });

  it("keeps split calls additive within 1 µ$ per call (property)", () => {
    fc.assert(
      fc.property(arbConsistentUsage, arbConsistentUsage, arbRates, (a, b, rates) => {
        const sum: TokenUsage = {
          inputTokens: a.inputTokens + b.inputTokens,
          outputTokens: a.outputTokens + b.outputTokens,
          cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
          cacheWriteInputTokens: a.cacheWriteInputTokens + b.cacheWriteInputTokens,
          reasoningTokens: a.reasoningTokens + b.reasoningTokens,
          estimated: false,
        };
        // Only when neither part clamps at zero is the whole the sum of its parts, hence arbConsistentUsage.
        const parts = costMicros(a, rates) + costMicros(b, rates);
        const whole = costMicros(sum, rates);
        return parts >= whole && parts - whole <= 1n;
      }),
    );
  });

  it("switches every token to the long-context tier strictly above its threshold", () => {
    const tiered: ModelPrice = { ...flat, longContext: { aboveInputTokens: 1000, rates: { ...flat, input: 5_000_000, output: 20_000_000 } } };
    expect(costMicros(usage({ inputTokens: 1000, outputTokens: 10 }), tiered)).toBe(2500n + 100n);
    expect(costMicros(usage({ inputTokens: 1001, outputTokens: 10 }), tiered)).toBe(5005n + 200n);
  });
});

describe("costOfCall and unpriced models", () => {
  const book = createPriceBook({ builtin: { version: "v1", rows: [{ provider: "p", model: "m", effectiveFrom: "2026-01-01", input: 1_000_000, output: 2_000_000 }] } });
  const at = new Date("2026-06-01T00:00:00Z");

  it("prices a known model with the version it used", () => {
    expect(costOfCall(book, { provider: "p", model: "m-2026-05-01", usage: usage({ inputTokens: 10, outputTokens: 5 }), at })).toEqual({
      kind: "priced",
      micros: 20n,
      priceVersion: "v1",
      pricedModel: "m",
    });
  });

  it("returns a typed unpriced result for an unknown model", () => {
    expect(costOfCall(book, { provider: "p", model: "other", usage: usage({ inputTokens: 10 }), at })).toEqual({ kind: "unpriced", provider: "p", model: "other" });
  });

  it("applies either policy as configured: refuse, or a default price under its own version", () => {
    expect(resolvePrice(book, "p", "other", at, { kind: "refuse" })).toBeUndefined();
    const fallback = resolvePrice(book, "p", "other", at, { kind: "default_price", price: flat, version: "default-price-1" });
    expect(fallback).toMatchObject({ price: flat, version: "default-price-1", model: "other" });
    expect(resolvePrice(book, "p", "m", at, { kind: "refuse" })?.version).toBe("v1");
    // The default price stands in only for a model the book does not know.
    expect(resolvePrice(book, "p", "m", at, { kind: "default_price", price: flat, version: "default-price-1" })).toMatchObject({ version: "v1", model: "m" });
  });
});

describe("worstCaseMicros", () => {
  it("takes the dearest target of the route", () => {
    const cheap: ModelPrice = { input: 100_000, output: 400_000, cachedInput: 25_000, cacheWriteInput: 100_000, reasoning: 400_000 };
    // flat: input 1000 × max(2.5, 1.25, 3.125) = 3125; output 500 × 10 = 5000 → 8125.
    expect(worstCaseMicros({ inputTokensEstimate: 1000, maxOutputTokens: 500, prices: [cheap, flat] })).toBe(8125n);
  });

  it("refuses an empty route and bad counts", () => {
    expect(() => worstCaseMicros({ inputTokensEstimate: 1, maxOutputTokens: 1, prices: [] })).toThrow(RangeError);
    expect(() => worstCaseMicros({ inputTokensEstimate: -1, maxOutputTokens: 1, prices: [flat] })).toThrow("inputTokensEstimate");
    expect(() => worstCaseMicros({ inputTokensEstimate: 1, maxOutputTokens: 1.5, prices: [flat] })).toThrow("maxOutputTokens");
    expect(() => worstCaseMicros({ inputTokensEstimate: 2 ** 53, maxOutputTokens: 1, prices: [flat] })).toThrow("inputTokensEstimate");
  });

  it("reserves at the long-context tier strictly above its threshold, as costMicros bills", () => {
    const tiered: ModelPrice = { ...flat, longContext: { aboveInputTokens: 1000, rates: { ...flat, input: 5_000_000, cacheWriteInput: 6_250_000, output: 20_000_000, reasoning: 20_000_000 } } };
    // At the threshold: base rates, 1000 × 3.125 + 10 × 10 = 3225; one token above: 1001 × 6.25 + 10 × 20 = 6456.25 → 6457.
    expect(worstCaseMicros({ inputTokensEstimate: 1000, maxOutputTokens: 10, prices: [tiered] })).toBe(3225n);
    expect(worstCaseMicros({ inputTokensEstimate: 1001, maxOutputTokens: 10, prices: [tiered] })).toBe(6457n);
  });

  it("is tight: the dearest split of the counts on the dearest target costs exactly the worst case (property)", () => {
    fc.assert(
      fc.property(
        fc.array(arbPrice, { minLength: 1, maxLength: 4 }),
        fc.oneof(fc.integer({ min: 0, max: 500_000 }), fc.integer({ min: -1, max: 1 })),
        fc.integer({ min: 0, max: 200_000 }),
        (prices, inputChoice, maxOutputTokens) => {
          // Half the time right at the first target's tier threshold (−1, 0, +1), where the tier switches.
          const threshold = prices[0]!.longContext?.aboveInputTokens;
          const inputTokens = inputChoice <= 1 && threshold !== undefined ? threshold + inputChoice : Math.abs(inputChoice);
          const dearest = prices.map((price) => {
            const rates = price.longContext !== undefined && inputTokens > price.longContext.aboveInputTokens ? price.longContext.rates : price;
            const inputKind = rates.cacheWriteInput >= Math.max(rates.input, rates.cachedInput) ? "write" : rates.cachedInput >= rates.input ? "cached" : "plain";
            return costMicros(
              usage({
                inputTokens,
                cachedInputTokens: inputKind === "cached" ? inputTokens : 0,
                cacheWriteInputTokens: inputKind === "write" ? inputTokens : 0,
                outputTokens: maxOutputTokens,
                reasoningTokens: rates.reasoning > rates.output ? maxOutputTokens : 0,
              }),
              price,
            );
          });
          const worst = worstCaseMicros({ inputTokensEstimate: inputTokens, maxOutputTokens, prices });
          expect(worst).toBe(dearest.reduce((a, b) => (a > b ? a : b)));
        },
      ),
    );
  });

  it("bounds the cost of any usage within the counts, on every target (property)", () => {
    fc.assert(
      fc.property(
        fc.array(arbPrice, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 500_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (prices, inputTokens, maxOutputTokens, s1, s2, s3, target) => {
          // Any split of the input into cached / written / plain and of the output into
          // reasoning / visible, on any target.
          const cached = s1 % (inputTokens + 1);
          const written = s2 % (inputTokens - cached + 1);
          const outputTokens = s3 % (maxOutputTokens + 1);
          const u = usage({ inputTokens, cachedInputTokens: cached, cacheWriteInputTokens: written, outputTokens, reasoningTokens: Math.floor(outputTokens / 2) });
          const worst = worstCaseMicros({ inputTokensEstimate: inputTokens, maxOutputTokens, prices });
          return costMicros(u, prices[target % prices.length]!) <= worst;
        },
      ),
    );
  });
});
