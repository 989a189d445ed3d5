import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { costMicros } from "../limits/cost.js";
import { tokenCount } from "./token-count.js";

describe("tokenCount", () => {
  it("reads what a provider may send as a whole, priceable count", () => {
    expect([undefined, null, "12", -3, Number.NaN, 0].map(tokenCount)).toEqual([0, 0, 0, 0, 0, 0]);
    expect([7, 7.9, 2 ** 53 + 2, Number.POSITIVE_INFINITY].map(tokenCount)).toEqual([7, 7, 2 ** 48, 2 ** 48]);
  });

  it("prices any usage built from such counts without throwing, sums included", () => {
    const price = { input: 2_500_000, output: 10_000_000, cachedInput: 1_250_000, cacheWriteInput: 3_125_000, reasoning: 10_000_000 };
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(2 ** 60)), { minLength: 5, maxLength: 5 }), ([a, b, c, d, e]) => {
        const cached = tokenCount(c);
        const usage = { inputTokens: tokenCount(a) + cached + tokenCount(d), outputTokens: tokenCount(b) + tokenCount(e), cachedInputTokens: cached, cacheWriteInputTokens: tokenCount(d), reasoningTokens: tokenCount(e), estimated: false };
        expect(costMicros(usage, price)).toBeGreaterThanOrEqual(0n);
      }),
    );
  });
});
