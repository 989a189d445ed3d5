import { describe, expect, it } from "vitest";
import { withDefaults } from "./route-types.js";

describe("withDefaults", () => {
  it("fills every default", () => {
    const r = withDefaults({ alias: "fast", targets: [{ provider: "openai", model: "gpt" }] });
    expect(r).toEqual({
      alias: "fast",
      targets: [{ provider: "openai", model: "gpt", weight: 1, priority: 0, firstTokenTimeoutMs: 60_000, idleTimeoutMs: 60_000, params: {} }],
      retry: { maxAttempts: 2, initialBackoffMs: 25, maxBackoffMs: 250, budgetPercent: 20, minRetryConcurrency: 3, fallbackOnAuth: true, fallbackOnContextLength: true, fallbackOnContentFilter: false, throttleMaxTokens: 10, throttleTokenRatio: 0.1 },
      hedge: { maxHedges: 1 },
      breaker: { errorThresholdPercent: 50, volumeThreshold: 20, resetTimeoutMs: 30_000, rollingWindowMs: 10_000 },
      timeoutMs: 120_000,
    });
  });
  it("clamps attempts to 1..5 and hedges to 0..2", () => {
    expect(withDefaults({ alias: "a", targets: [], retry: { maxAttempts: 9 } }).retry.maxAttempts).toBe(5);
    expect(withDefaults({ alias: "a", targets: [], retry: { maxAttempts: 0 } }).retry.maxAttempts).toBe(1);
    expect(withDefaults({ alias: "a", targets: [], hedge: { delayMs: 100, maxHedges: 7 } }).hedge).toEqual({ delayMs: 100, maxHedges: 2 });
  });
  it("clamps the retry throttle to A6's ranges and rounds its ratio to three decimals", () => {
    const retry = (r: { throttleMaxTokens?: number; throttleTokenRatio?: number }) => withDefaults({ alias: "a", targets: [], retry: r }).retry;
    expect(retry({ throttleMaxTokens: 5000, throttleTokenRatio: 7 })).toMatchObject({ throttleMaxTokens: 1000, throttleTokenRatio: 1 });
    expect(retry({ throttleMaxTokens: 0, throttleTokenRatio: 0 })).toMatchObject({ throttleMaxTokens: 10, throttleTokenRatio: 0.1 });
    expect(retry({ throttleTokenRatio: Math.fround(0.25) }).throttleTokenRatio).toBe(0.25);
    expect(retry({ throttleTokenRatio: 0.0001 }).throttleTokenRatio).toBe(0.001);
  });
  it("keeps explicit values and drops an empty credential", () => {
    const r = withDefaults({
      alias: "a",
      targets: [{ provider: "p", model: "m", credential: "", weight: 0, priority: 3, attemptTimeoutMs: 500, params: { deployment: "d" } }],
    });
    expect(r.targets[0]).toMatchObject({ weight: 0, priority: 3, attemptTimeoutMs: 500, params: { deployment: "d" } });
    expect(r.targets[0]).not.toHaveProperty("credential");
  });
});
