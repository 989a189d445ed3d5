/**
 * P10 (issue #4): the retry budget bounds retries, not fallbacks. The first send to a deployment
 * the request has not tried, whose breaker is closed, takes no budget slot; a retry of the same
 * target, a hedge, the same deployment under a later position and a half-open target's probe do.
 */
import { describe, expect, it } from "vitest";
import { createBreakerRegistry } from "./breaker.js";
import type { RetryBudget } from "./retry-budget.js";
import { chatRequest, dispatcherOver, drain, observedRetryBudget, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail } from "./testing/scripted-provider.js";

/** A budget that refuses every retry and counts the asks. */
function refusingBudget(): RetryBudget & { asked: number } {
  const budget = {
    asked: 0,
    requestStarted: () => () => {},
    snapshot: () => ({ activeRequests: 0, activeRetries: 0 }),
    tryAcquireRetry: () => {
      budget.asked++;
      return undefined;
    },
  };
  return budget;
}

const failing = (kind: string, delayMs = 0) => createScriptedProvider({ kind, script: () => fail("server_error", { httpStatus: 503, delayMs }) });

describe("P10: a fallback to an untried, closed target is not a retry", () => {
  it("answers every one of 10 concurrent requests from a healthy secondary during the primary's outage", async () => {
    // Before: every fallback took a slot, max(3, 20 % of 10) = 3 in flight, so 7 of 10 failed.
    const a = failing("a", 20);
    const b = createScriptedProvider({ kind: "b", script: () => answer("from b", { delayMs: 80 }) });
    let peak = 0;
    const observed = observedRetryBudget((_granted, { activeRetries }) => (peak = Math.max(peak, activeRetries)));
    const d = dispatcherOver([a, b], { retryBudget: observed });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 1 } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => d.chat(r, chatRequest(), within(10_000))));
    expect(results.map((x) => x.status)).toEqual(Array.from({ length: 10 }, () => "fulfilled"));
    expect(b.calls).toHaveLength(10);
    expect(peak).toBe(0);
    expect(observed.snapshot()).toEqual({ activeRequests: 0, activeRetries: 0 });
  });

  it("falls back with the budget exhausted, and asks it nothing", async () => {
    const budget = refusingBudget();
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([failing("a"), b], { retryBudget: budget });
    const res = await d.chat(route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 1 } }), chatRequest(), within(5_000));
    expect(res.attempts.map((x) => [x.provider, x.outcome])).toEqual([
      ["a", "unavailable"],
      ["b", "success"],
    ]);
    expect(budget.asked).toBe(0);
  });

  it("still budgets a retry of the same target", async () => {
    const budget = refusingBudget();
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 503 }), answer("second try")] });
    const d = dispatcherOver([a], { retryBudget: budget });
    await expect(d.chat(route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 3 } }), chatRequest(), within(5_000))).rejects.toThrow();
    expect(a.calls).toHaveLength(1);
    expect(budget.asked).toBe(1);
  });

  it("still budgets a hedge", async () => {
    const budget = refusingBudget();
    const a = createScriptedProvider({ kind: "a", script: [answer("slow a", { delayMs: 150 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b], { retryBudget: budget });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { hedge: { delayMs: 10 }, retry: { maxAttempts: 1 } });
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("slow a");
    expect(b.calls).toHaveLength(0);
    expect(budget.asked).toBe(1);
  });

  it("still budgets a later target that is the same deployment as one already tried", async () => {
    const budget = refusingBudget();
    const a = failing("a");
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b], { retryBudget: budget });
    const r = route(
      [
        { provider: "a", model: "m", priority: 0 },
        { provider: "a", model: "m", priority: 1, params: { region: "second" } },
        { provider: "b", model: "m", priority: 2 },
      ],
      { retry: { maxAttempts: 1 } },
    );
    // Refused, the same deployment is passed over as a throttled one is: b, untried, answers.
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("from b");
    expect(a.calls).toHaveLength(1);
    expect(budget.asked).toBe(1);
  });

  it("still budgets a fallback that would be a half-open target's probe", async () => {
    let clock = 0;
    const breakers = createBreakerRegistry({ now: () => clock });
    const budget = refusingBudget();
    const a = failing("a");
    const health = { b: false };
    const b = createScriptedProvider({ kind: "b", script: () => (health.b ? answer("from b") : fail("server_error", { httpStatus: 503 })) });
    const d = dispatcherOver([a, b], { retryBudget: budget, breakers });
    const breaker = { volumeThreshold: 2, resetTimeoutMs: 1_000 };
    // Open b's breaker through a route of its own (breakers are per deployment, shared by routes).
    const onlyB = route([{ provider: "b", model: "m" }], { retry: { maxAttempts: 1 }, breaker });
    for (let i = 0; i < 2; i++) await expect(d.chat(onlyB, chatRequest(), within(5_000))).rejects.toThrow();
    expect(breakers.peek({ provider: "b", model: "m" })).toBe("open");
    clock += 1_000;
    health.b = true;
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 1 }, breaker });
    await expect(d.chat(r, chatRequest(), within(5_000))).rejects.toThrow();
    expect(b.calls).toHaveLength(2);
    expect(budget.asked).toBe(1);
    // The refused probe was never sent: the breaker lets the next request's probe through.
    expect(breakers.peek({ provider: "b", model: "m" })).toBe("half_open");
    const res = await d.chat(onlyB, chatRequest(), within(5_000));
    expect(res.response.text).toBe("from b");
    expect(breakers.peek({ provider: "b", model: "m" })).toBe("closed");
  });

  it("leaves a target whose hedge the budget refused for the fallback when the first attempt fails", async () => {
    const budget = refusingBudget();
    const a = failing("a", 60);
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b], { retryBudget: budget });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { hedge: { delayMs: 10 }, retry: { maxAttempts: 1 } });
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("from b");
    expect(res.attempts.map((x) => [x.provider, x.outcome, x.hedged])).toEqual([
      ["a", "unavailable", false],
      ["b", "success", false],
    ]);
    // Asked once, for the hedge; the fallback took no slot.
    expect(budget.asked).toBe(1);
  });
});

describe("P10: a retry the budget refuses falls back, as a throttled one does", () => {
  it("hands the request to an untried, closed target when the budget refuses the retry of the failed one", async () => {
    const budget = refusingBudget();
    const a = failing("a");
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b], { retryBudget: budget });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 2 } });
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("from b");
    expect(res.attempts.map((x) => [x.provider, x.outcome])).toEqual([
      ["a", "unavailable"],
      ["b", "success"],
    ]);
    expect(a.calls).toHaveLength(1);
    // Asked once, for the retry of a; the fallback took no slot.
    expect(budget.asked).toBe(1);
  });

  it("does the same for a stream", async () => {
    const budget = refusingBudget();
    const a = failing("a");
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const d = dispatcherOver([a, b], { retryBudget: budget });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 2 } });
    const s = d.chatStream(r, chatRequest(), within(5_000));
    const { items, error } = await drain(s.chunks);
    expect(error).toBeUndefined();
    expect(items.filter((c) => c.type === "text").map((c) => (c.type === "text" ? c.text : ""))).toEqual(["from b"]);
    expect(s.attempts().map((x) => [x.provider, x.outcome])).toEqual([
      ["a", "unavailable"],
      ["b", "success"],
    ]);
    expect(budget.asked).toBe(1);
  });

  it("skips a half-open target whose probe the budget refuses for a closed one after it", async () => {
    let clock = 0;
    const breakers = createBreakerRegistry({ now: () => clock });
    const budget = refusingBudget();
    const a = failing("a");
    const b = failing("b");
    const c = createScriptedProvider({ kind: "c", script: [answer("from c")] });
    const d = dispatcherOver([a, b, c], { retryBudget: budget, breakers });
    const breaker = { volumeThreshold: 2, resetTimeoutMs: 1_000 };
    const onlyB = route([{ provider: "b", model: "m" }], { retry: { maxAttempts: 1 }, breaker });
    for (let i = 0; i < 2; i++) await expect(d.chat(onlyB, chatRequest(), within(5_000))).rejects.toThrow();
    clock += 1_000;
    const r = route(
      [
        { provider: "a", model: "m" },
        { provider: "b", model: "m", priority: 1 },
        { provider: "c", model: "m", priority: 2 },
      ],
      { retry: { maxAttempts: 1 }, breaker },
    );
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("from c");
    expect(b.calls).toHaveLength(2);
    expect(budget.asked).toBe(1);
    expect(breakers.peek({ provider: "b", model: "m" })).toBe("half_open");
  });
});
