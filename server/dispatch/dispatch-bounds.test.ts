/**
 * Dispatch at its bounds: timers beyond a Node timer's range, one half-open probe among many
 * callers, the retry budget under concurrency, weighted order, and retries and hedges inside the
 * deadline (P9–P12). Bounds on elapsed time are loose: they catch a wait, not a slow machine.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createBreakerRegistry } from "./breaker.js";
import { orderTargets } from "./target-order.js";
import { chatRequest, dispatcherOver, drain, observedRetryBudget, route, seededRandom, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail, textStream } from "./testing/scripted-provider.js";

const asConnect = (e: unknown): ConnectError => {
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
};

/** A Node timer holds at most 2^31-1 ms; a longer one fires after 1 ms (TimeoutOverflowWarning). */
const BEYOND_NODE_TIMER = 2 ** 31;

describe("timers beyond a Node timer's range", () => {
  it("a route's attempt timeout of 30 days does not time every attempt out at once", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("ok", { delayMs: 50 })] });
    // Real timers (the harness default), as in production.
    const d = dispatcherOver([a]);
    const r = route([{ provider: "a", model: "m", attemptTimeoutMs: 30 * 24 * 3_600_000 }], { retry: { maxAttempts: 1 } });
    const res = await d.chat(r, chatRequest(), within(5_000)).catch((e: unknown) => e);
    expect(res).not.toBeInstanceOf(Error);
  });

  it("a hedge delay beyond the timer range does not send the twin at once (doubling spend)", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("a", { delayMs: 50 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b", { delayMs: 50 })] });
    const d = dispatcherOver([a, b]);
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { hedge: { delayMs: BEYOND_NODE_TIMER }, retry: { maxAttempts: 1 } });
    const res = await d.chat(r, chatRequest(), within(5_000));
    expect(res.response.text).toBe("a");
    expect(b.calls).toHaveLength(0);
  });

  it("a stream idle timeout beyond the timer range does not cut the stream after its first chunk", async () => {
    const a = createScriptedProvider({ kind: "a", script: [textStream(["one ", "two ", "three"], { gapMs: 20 })] });
    const d = dispatcherOver([a]);
    const r = route([{ provider: "a", model: "m", idleTimeoutMs: BEYOND_NODE_TIMER }], { retry: { maxAttempts: 1 } });
    const { items, error } = await drain(d.chatStream(r, chatRequest(), within(5_000)).chunks);
    expect(error).toBeUndefined();
    expect(items.filter((c) => c.type === "text").map((c) => (c.type === "text" ? c.text : "")).join("")).toBe("one two three");
  });

  it("a route timeout and a caller deadline beyond the timer range do not expire the call at once", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("ok", { delayMs: 50 })] });
    const d = dispatcherOver([a]);
    const r = route([{ provider: "a", model: "m" }], { timeoutMs: 30 * 24 * 3_600_000, retry: { maxAttempts: 1 } });
    const res = await d.chat(r, chatRequest(), { signal: new AbortController().signal, deadline: Date.now() + 40 * 24 * 3_600_000 }).catch((e: unknown) => e);
    expect(res).not.toBeInstanceOf(Error);
  });
});

describe("P11 half-open probe under concurrency", () => {
  it("sends exactly one probe when 50 requests arrive together after the reset timeout", async () => {
    let clock = 0;
    const breakers = createBreakerRegistry({ now: () => clock });
    const health = { a: false };
    const a = createScriptedProvider({ kind: "a", script: () => (health.a ? answer("from a", { delayMs: 30 }) : fail("server_error", { httpStatus: 503 })) });
    const b = createScriptedProvider({ kind: "b", script: () => answer("from b", { delayMs: 5 }) });
    const d = dispatcherOver([a, b], { breakers, now: () => Date.now() });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], {
      retry: { maxAttempts: 1 },
      breaker: { volumeThreshold: 4, resetTimeoutMs: 1_000 },
    });
    for (let i = 0; i < 4; i++) await d.chat(r, chatRequest(), within(5_000));
    expect(breakers.peek({ provider: "a", model: "m" })).toBe("open");
    clock += 1_000;
    health.a = true;
    const before = a.calls.length;
    const res = await Promise.all(Array.from({ length: 50 }, () => d.chat(r, chatRequest(), within(5_000))));
    expect(a.calls.length - before).toBe(1);
    expect(res.filter((x) => x.target.provider === "a")).toHaveLength(1);
    expect(breakers.peek({ provider: "a", model: "m" })).toBe("closed");
  });

  it("falls back to the next priority when the first priority's breaker is open (no call to it)", async () => {
    let clock = 0;
    const breakers = createBreakerRegistry({ now: () => clock });
    const a = createScriptedProvider({ kind: "a", script: () => fail("server_error", { httpStatus: 503 }) });
    const b = createScriptedProvider({ kind: "b", script: () => answer("from b") });
    const c = createScriptedProvider({ kind: "c", script: () => answer("from c") });
    const d = dispatcherOver([a, b, c], { breakers });
    const r = route(
      [
        { provider: "a", model: "m", priority: 0 },
        { provider: "b", model: "m", priority: 1 },
        { provider: "c", model: "m", priority: 2 },
      ],
      { retry: { maxAttempts: 1 }, breaker: { volumeThreshold: 2, resetTimeoutMs: 60_000 } },
    );
    for (let i = 0; i < 2; i++) await d.chat(r, chatRequest(), within(5_000));
    const calls = a.calls.length;
    for (let i = 0; i < 10; i++) {
      const res = await d.chat(r, chatRequest(), within(5_000));
      expect(res.target.provider).toBe("b");
      expect(res.attempts.map((x) => x.outcome)).toEqual(["circuit_open", "success"]);
    }
    expect(a.calls.length).toBe(calls);
    expect(c.calls).toHaveLength(0);
  });
});

describe("P10 retry budget under concurrency", () => {
  it("never has more retries in flight than max(3, 20 % of active requests); hedges count", async () => {
    const a = createScriptedProvider({ kind: "a", script: () => fail("server_error", { httpStatus: 503, delayMs: 15 }) });
    const b = createScriptedProvider({ kind: "b", script: () => fail("server_error", { httpStatus: 503, delayMs: 15 }) });
    let violations = 0;
    let peak = 0;
    const observed = observedRetryBudget((granted, { activeRequests, activeRetries }) => {
      if (granted && activeRetries > Math.max(3, Math.ceil(0.2 * activeRequests))) violations++;
      peak = Math.max(peak, activeRetries);
    });
    const d = dispatcherOver([a, b], { retryBudget: observed });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], {
      retry: { maxAttempts: 5, throttleMaxTokens: 1000 },
      hedge: { delayMs: 5, maxHedges: 2 },
      breaker: { volumeThreshold: 1_000_000 },
    });
    const n = 40;
    await Promise.allSettled(Array.from({ length: n }, () => d.chat(r, chatRequest(), within(10_000))));
    expect(violations).toBe(0);
    expect(peak).toBeLessThanOrEqual(Math.max(3, Math.ceil(0.2 * n)));
    expect(observed.snapshot()).toEqual({ activeRequests: 0, activeRetries: 0 });
    // Every request has 1 first attempt + at most its fallback; the rest are budgeted retries.
    const upstream = a.calls.length + b.calls.length;
    expect(upstream).toBeGreaterThanOrEqual(n);
  });
});

describe("weighted order", () => {
  it("splits first picks by weight (chi-square, fixed seed) and keeps priorities in order", () => {
    const random = seededRandom(12345);
    const targets = [
      { priority: 0, weight: 1 },
      { priority: 0, weight: 3 },
      { priority: 0, weight: 6 },
      { priority: 1, weight: 100 },
    ];
    const counts = [0, 0, 0, 0];
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const order = orderTargets(targets, random);
      counts[order[0] as number]!++;
      expect(order[3]).toBe(3);
    }
    const expected = [0.1 * n, 0.3 * n, 0.6 * n];
    const chi = expected.reduce((s, e, i) => s + ((counts[i] as number) - e) ** 2 / e, 0);
    // 2 degrees of freedom: p = 0.001 at 13.8.
    expect(chi).toBeLessThan(13.8);
    expect(counts[3]).toBe(0);
  });
});

describe("P9/P12 retries inside the deadline", () => {
  it("hedges and retries together never start an attempt after the deadline, and the call ends at it", async () => {
    const a = createScriptedProvider({ kind: "a", script: () => fail("server_error", { httpStatus: 503, delayMs: 40 }) });
    const b = createScriptedProvider({ kind: "b", script: () => ({ type: "hang" }) });
    const d = dispatcherOver([a, b], { sleep: (ms, signal) => new Promise((res) => { const t = setTimeout(res, ms); signal?.addEventListener("abort", () => { clearTimeout(t); res(); }); }) });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], {
      retry: { maxAttempts: 5, initialBackoffMs: 10, maxBackoffMs: 20 },
      hedge: { delayMs: 30, maxHedges: 2 },
    });
    const started = Date.now();
    const deadline = started + 300;
    const err = asConnect(await d.chat(r, chatRequest(), { signal: new AbortController().signal, deadline }).catch((e: unknown) => e));
    const ended = Date.now();
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(ended - deadline).toBeLessThan(500);
    for (const c of [...a.calls, ...b.calls]) {
      expect(c.startedAt).toBeLessThanOrEqual(deadline);
      expect(c.endedAt ?? c.abortedAt ?? ended).toBeLessThanOrEqual(deadline + 500);
    }
  });

  it("a retry-after longer than what is left falls back instead of waiting past the deadline", async () => {
    const a = createScriptedProvider({ kind: "a", script: () => fail("rate_limited", { httpStatus: 429, retryAfterMs: 2_000 }) });
    const b = createScriptedProvider({ kind: "b", script: () => answer("from b") });
    const d = dispatcherOver([a, b], { sleep: (ms) => new Promise((res) => setTimeout(res, ms)) });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 3 } });
    const started = Date.now();
    const res = await d.chat(r, chatRequest(), within(1_000));
    expect(res.target.provider).toBe("b");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(a.calls).toHaveLength(1);
  });
});
