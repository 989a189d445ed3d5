import { describe, expect, it } from "vitest";
import { createMemoryState } from "../store/state/memory-state.js";
import { createRateLimiter, MAX_RATE_LIMIT_PER_MINUTE, windowKey, type RateLimitRule } from "./rate-limiter.js";

describe("rate limits beyond the window arithmetic", () => {
  it("admits and counts calls under a stored limit above the maximum instead of failing them", async () => {
    const state = createMemoryState();
    const limiter = createRateLimiter({ state, clock: { now: () => 1_000_000 } });
    // As stored before CreateRateLimit refused it: (10^12 + cost) × 60 000 is beyond 2^53.
    const rule: RateLimitRule = { id: "orgs/acme/rate-limits/huge", level: "org", requestsPerMinute: 1e12, tokensPerMinute: 1e12 };
    const outcome = await limiter.check({ tenant: "org_1", rules: [rule], tokensEstimate: 5000 });
    expect(outcome.allowed).toBe(true);
    const again = await limiter.check({ tenant: "org_1", rules: [rule], tokensEstimate: 7000 });
    expect(again.allowed).toBe(true);
    // Counted all the same: the window holds both estimates.
    const counted = await state.hitWindow(windowKey("org_1", rule.id, "tokens"), 0, MAX_RATE_LIMIT_PER_MINUTE, 60_000, 1_000_000);
    expect(counted.count).toBe(12_000);
    await state.close();
  });

  it("accepts the maximum with a large call cost", async () => {
    const state = createMemoryState();
    const limiter = createRateLimiter({ state, clock: { now: () => 1_000_000 } });
    const rule: RateLimitRule = { id: "orgs/acme/rate-limits/max", level: "key", tokensPerMinute: MAX_RATE_LIMIT_PER_MINUTE };
    expect((await limiter.check({ tenant: "org_1", rules: [rule], tokensEstimate: 10_000_000_000 })).allowed).toBe(true);
    await state.close();
  });
});
