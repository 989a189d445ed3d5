import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProviderAttemptsSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { AttemptOutcome } from "../../gen/ts/switchboard/v1/common_pb.js";
import { createRetryBudget } from "./retry-budget.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail } from "./testing/scripted-provider.js";

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("P9: retries are bounded, jittered, classified and inside the deadline", () => {
  it("waits at least the retry-after of a 429, then succeeds on the same target", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("rate_limited", { httpStatus: 429, retryAfterMs: 30 }), answer("hi")] });
    const sleeps: number[] = [];
    const d = dispatcherOver([a], { sleep: async (ms) => void sleeps.push(ms) });
    const res = await d.chat(route([{ provider: "a", model: "m" }]), chatRequest(), within(5_000));
    expect(res.response.text).toBe("hi");
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(30);
    expect(res.attempts.map((x) => [x.index, x.outcome, x.httpStatus])).toEqual([
      [1, "rate_limited", 429],
      [2, "success", undefined],
    ]);
    expect(res.attempts[0]?.usage).toMatchObject({ inputTokens: 0, outputTokens: 0, estimated: false });
    expect(a.calls.map((c) => c.model)).toEqual(["m", "m"]);
  });

  it("makes exactly maxAttempts per target, then fails Unavailable listing every attempt", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 503 })] });
    const b = createScriptedProvider({ kind: "b", script: [fail("overloaded", { httpStatus: 529 })] });
    const d = dispatcherOver([a, b]);
    const r = route([{ provider: "a", model: "m1" }, { provider: "b", model: "m2", priority: 1 }], { retry: { maxAttempts: 3 } });
    const err = await rejection(d.chat(r, chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.Unavailable);
    expect(a.calls).toHaveLength(3);
    expect(b.calls).toHaveLength(3);
    const [detail] = err.findDetails(ProviderAttemptsSchema);
    expect(detail?.route).toBe("test");
    expect(detail?.attempts.map((x) => [x.index, x.targetIndex, x.outcome, x.httpStatus])).toEqual([
      [1, 0, AttemptOutcome.UNAVAILABLE, 503],
      [2, 0, AttemptOutcome.UNAVAILABLE, 503],
      [3, 0, AttemptOutcome.UNAVAILABLE, 503],
      [4, 1, AttemptOutcome.UNAVAILABLE, 529],
      [5, 1, AttemptOutcome.UNAVAILABLE, 529],
      [6, 1, AttemptOutcome.UNAVAILABLE, 529],
    ]);
  });

  it("draws each backoff from the full-jitter range", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("connection")] });
    const sleeps: number[] = [];
    const d = dispatcherOver([a], { sleep: async (ms) => void sleeps.push(ms), random: () => 0.999 });
    await rejection(d.chat(route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 5 } }), chatRequest(), within(5_000)));
    expect(a.calls).toHaveLength(5);
    expect(sleeps).toEqual([24, 49, 99, 199]);
  });

  it("falls back instead of waiting for a retry-after that would cross the deadline", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("rate_limited", { httpStatus: 429, retryAfterMs: 5_000 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const sleeps: number[] = [];
    const d = dispatcherOver([a, b], { sleep: async (ms) => void sleeps.push(ms) });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }]);
    const res = await d.chat(r, chatRequest(), within(1_000));
    expect(res.response.text).toBe("from b");
    expect(sleeps).toEqual([]);
    expect(a.calls).toHaveLength(1);
    expect(res.target.provider).toBe("b");
  });

  it("never retries or falls back on a bad request", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("bad_request", { httpStatus: 400 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("x")] });
    const d = dispatcherOver([a, b]);
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], { retry: { maxAttempts: 5 } });
    const err = await rejection(d.chat(r, chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
    expect(err.findDetails(ProviderAttemptsSchema)[0]?.attempts.map((x) => x.outcome)).toEqual([AttemptOutcome.REJECTED]);
  });

  it("falls back on a broken credential without retrying it, and reports Internal when it is the last word", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("auth", { httpStatus: 401 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("b")] });
    const d = dispatcherOver([a, b]);
    const twoTargets = route([{ provider: "a", model: "m", credential: "credentials/a" }, { provider: "b", model: "m", priority: 1 }]);
    const res = await d.chat(twoTargets, chatRequest(), within(5_000));
    expect(res.response.text).toBe("b");
    expect(a.calls.map((c) => c.apiKey)).toEqual(["key-for-credentials/a"]);
    const noFallback = route(twoTargets.targets, { retry: { fallbackOnAuth: false } });
    const err = await rejection(d.chat(noFallback, chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.Internal);
    expect(b.calls).toHaveLength(1);
  });

  it("records an unreadable credential as an auth failure with no request sent", async () => {
    const a = createScriptedProvider({ kind: "a", script: [answer("a")] });
    const d = dispatcherOver([a], { credential: async () => undefined });
    const err = await rejection(d.chat(route([{ provider: "a", model: "m", credential: "credentials/gone" }]), chatRequest(), within(5_000)));
    expect(err.code).toBe(Code.Internal);
    expect(a.calls).toHaveLength(0);
    expect(err.findDetails(ProviderAttemptsSchema)[0]?.attempts[0]?.outcome).toBe(AttemptOutcome.AUTH_ERROR);
  });

  it("sends each target its own model and falls back to embeddings too", async () => {
    const a = createScriptedProvider({ kind: "a", script: [fail("server_error", { httpStatus: 500 })] });
    const b = createScriptedProvider({ kind: "b", script: [answer("")] });
    const d = dispatcherOver([a, b]);
    const r = route([{ provider: "a", model: "emb-a" }, { provider: "b", model: "emb-b", priority: 1 }], { retry: { maxAttempts: 1 } });
    const res = await d.embed(r, { model: "ignored", inputs: ["abc", "de"] }, within(5_000));
    expect(res.response.vectors).toEqual([[3, 1], [2, 1]]);
    expect(res.response.model).toBe("emb-b");
    expect(res.attempts.map((x) => x.outcome)).toEqual(["unavailable", "success"]);
  });
});

describe("P10: retries are budgeted", () => {
  async function storm(maxAttempts: number, targets = 1) {
    const health = { ok: false };
    const providers = Array.from({ length: targets }, (_, i) =>
      createScriptedProvider({
        kind: `p${i}`,
        script: () => (health.ok ? answer("ok", { delayMs: 5 }) : fail("server_error", { httpStatus: 503, delayMs: 10 })),
      }),
    );
    const budget = createRetryBudget();
    let peak = 0;
    const observed = {
      requestStarted: () => budget.requestStarted(),
      snapshot: () => budget.snapshot(),
      tryAcquireRetry: (p: { budgetPercent: number; minRetryConcurrency: number }) => {
        const slot = budget.tryAcquireRetry(p);
        const { activeRequests, activeRetries } = budget.snapshot();
        // The Envoy bound holds at every grant.
        if (slot) expect(activeRetries).toBeLessThanOrEqual(Math.max(3, Math.ceil(0.2 * activeRequests)));
        peak = Math.max(peak, activeRetries);
        return slot;
      },
    };
    const d = dispatcherOver(providers, { retryBudget: observed });
    const r = route(
      providers.map((p, i) => ({ provider: p.kind, model: "m", priority: i })),
      // A breaker would shed the outage on its own; this measures the budget alone.
      { retry: { maxAttempts }, breaker: { volumeThreshold: 1_000_000 } },
    );
    const n = 50;
    const upstream = () => providers.reduce((s, p) => s + p.calls.length, 0);
    const results = await Promise.allSettled(Array.from({ length: n }, () => d.chat(r, chatRequest(), within(10_000))));
    expect(results.every((x) => x.status === "rejected")).toBe(true);
    expect(budget.snapshot()).toEqual({ activeRequests: 0, activeRetries: 0 });
    const failing = upstream();
    health.ok = true;
    await Promise.all(Array.from({ length: n }, () => d.chat(r, chatRequest(), within(10_000))));
    return { amplification: failing / n, healthyAmplification: (upstream() - failing) / n, peak, upstream: failing };
  }

  it("keeps amplification at 1.2 under a total outage with 50 concurrent requests", async () => {
    const { amplification, peak, healthyAmplification } = await storm(2);
    expect(amplification).toBeLessThanOrEqual(1.2);
    expect(amplification).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(10);
    expect(healthyAmplification).toBe(1);
  });

  it("bounds attempts per request far below maxAttempts × targets", async () => {
    const { upstream, healthyAmplification } = await storm(5, 2);
    // Without a budget: 10 attempts per request (500 upstream calls). With it: each request's
    // first attempt on each target (a fallback to an untried, closed target is not a retry, so
    // every request reaches both), 20 % of each wave retried, and past that only the 3
    // always-allowed retries run to the end. Measured 108.
    expect(upstream).toBeGreaterThanOrEqual(50 * 2);
    expect(upstream).toBeLessThanOrEqual(50 * 2 * 1.2 + 3 * (5 * 2 - 2));
    expect(healthyAmplification).toBe(1);
  });

  it("asks beforeRetry before each attempt after a failure, with the attempts so far, and stops when it says no", async () => {
    const seen: number[][] = [];
    const a = createScriptedProvider({ kind: "a", script: [fail("connection"), fail("connection"), answer("hi")] });
    const d = dispatcherOver([a], { sleep: async () => {} });
    const r = route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 3 } });
    const beforeRetry = (answers: boolean[]) => (attempts: readonly { index: number }[]) => {
      seen.push(attempts.map((x) => x.index));
      return Promise.resolve(answers.shift() ?? true);
    };
    const res = await d.chat(r, chatRequest(), { ...within(5_000), beforeRetry: beforeRetry([true, true]) });
    expect(res.response.text).toBe("hi");
    expect(seen).toEqual([[1], [1, 2]]);

    seen.length = 0;
    const b = createScriptedProvider({ kind: "a", script: [fail("connection"), answer("never")] });
    const refused = await rejection(dispatcherOver([b], { sleep: async () => {} }).chat(r, chatRequest(), { ...within(5_000), beforeRetry: beforeRetry([false]) }));
    expect(refused.code).toBe(Code.Unavailable);
    expect(refused.rawMessage).toContain("(a spend cap cannot cover another attempt)");
    expect(b.calls).toHaveLength(1);
    expect(seen).toEqual([[1]]);

    // Streams ask the same way.
    seen.length = 0;
    const c = createScriptedProvider({ kind: "a", script: [fail("connection"), answer("never")] });
    const s = dispatcherOver([c], { sleep: async () => {} }).chatStream(r, chatRequest(), { ...within(5_000), beforeRetry: beforeRetry([false]) });
    const { error } = await drain(s.chunks);
    expect(ConnectError.from(error).rawMessage).toContain("(a spend cap cannot cover another attempt)");
    expect(c.calls).toHaveLength(1);
    expect(seen).toEqual([[1]]);
  });
});
