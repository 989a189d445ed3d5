import { describe, expect, it } from "vitest";
import { createRetryBudget } from "./retry-budget.js";

const policy = { budgetPercent: 20, minRetryConcurrency: 3 };

describe("createRetryBudget", () => {
  it("always allows the minimum concurrency", () => {
    const b = createRetryBudget();
    const slots = [b.tryAcquireRetry(policy), b.tryAcquireRetry(policy), b.tryAcquireRetry(policy)];
    expect(slots.every(Boolean)).toBe(true);
    expect(b.tryAcquireRetry(policy)).toBeUndefined();
    slots[0]?.();
    expect(b.tryAcquireRetry(policy)).toBeDefined();
  });
  it("allows budgetPercent of active requests beyond the minimum", () => {
    const b = createRetryBudget();
    const requests = Array.from({ length: 50 }, () => b.requestStarted());
    const granted = Array.from({ length: 20 }, () => b.tryAcquireRetry(policy)).filter(Boolean);
    expect(granted).toHaveLength(10);
    requests.slice(0, 40).forEach((release) => release());
    expect(b.tryAcquireRetry(policy)).toBeUndefined();
    expect(b.snapshot()).toEqual({ activeRequests: 10, activeRetries: 10 });
  });
  it("releases each slot once", () => {
    const b = createRetryBudget();
    const release = b.tryAcquireRetry(policy);
    release?.();
    release?.();
    expect(b.snapshot().activeRetries).toBe(0);
  });
});
