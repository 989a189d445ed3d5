/**
 * P10 with gRPC A6 retry throttling: the Envoy budget bounds retries in flight, the per-target
 * token bucket bounds their ratio. Scripted providers answer at once, which is the case the
 * budget alone cannot bound (its slots free as fast as failures arrive).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../providers/provider-error.js";
import { createBreakerRegistry } from "./breaker.js";
import { createRetryThrottle, type RetryThrottle } from "./retry-throttle.js";
import { chatRequest, dispatcherOver, drain, route, within } from "./testing/harness.js";
import { answer, createScriptedProvider, fail, textStream, type ScriptedProvider } from "./testing/scripted-provider.js";

/** Never refuses: the dispatcher as it was before throttling, for comparison. */
const unthrottled: RetryThrottle = { recordFailure() {}, recordSuccess() {}, allowRetry: () => true, states: () => [] };

/** Runs `n` requests, `concurrency` at a time; returns how many succeeded. */
async function drive(n: number, concurrency: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let ok = 0;
  for (let start = 0; start < n; start += concurrency) {
    const wave = Array.from({ length: Math.min(concurrency, n - start) }, (_, k) => one(start + k));
    for (const r of await Promise.allSettled(wave)) if (r.status === "fulfilled") ok++;
  }
  return ok;
}

const failing = (kind: string): ScriptedProvider => createScriptedProvider({ kind, script: [fail("server_error", { httpStatus: 503 })] });

describe("P10: retry throttling bounds the retry ratio", () => {
  it("property: under a total outage, attempts per target visit converge to 1 + (ceil(maxTokens/2) - 1) / requests", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 20, max: 80 }),
        fc.integer({ min: 1, max: 3 }),
        async (maxAttempts, targets, maxTokens, n, concurrency) => {
          const providers = Array.from({ length: targets }, (_, i) => failing(`p${i}`));
          const throttle = createRetryThrottle();
          const d = dispatcherOver(providers, { retryThrottle: throttle });
          const r = route(
            providers.map((p, i) => ({ provider: p.kind, model: "m", priority: i })),
            // No breaker: this measures retry control alone.
            { retry: { maxAttempts, throttleMaxTokens: maxTokens }, breaker: { volumeThreshold: 1_000_000 } },
          );
          const ok = await drive(n, concurrency, () => d.chat(r, chatRequest(), within(10_000)));
          expect(ok).toBe(0);
          // Every retry needs tokens > maxTokens/2 after its own failure was charged, and tokens only
          // fall: at most ceil(maxTokens/2) - 1 retries per target, whatever the concurrency.
          const extra = Math.ceil(maxTokens / 2) - 1;
          for (const p of providers) {
            // Fallback is never throttled: with at most 3 requests in flight the budget lets every
            // request reach every target once.
            expect(p.calls.length).toBeGreaterThanOrEqual(n);
            expect(p.calls.length).toBeLessThanOrEqual(n + Math.min(extra, n * (maxAttempts - 1)));
          }
          for (const s of throttle.states()) expect(s.tokens).toBeLessThanOrEqual(maxTokens / 2);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("property: while failures stay isolated, throttling blocks no retry that the budget allows", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Each request is healthy or fails once then answers; a flaky one is followed by at least
        // nine healthy ones (≤ 10 % failing), the share a bucket of 10 at 0.1 sustains forever.
        fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2, max: 5 }),
        async (flakyMarks, maxAttempts) => {
          const plan: boolean[] = [];
          for (const flaky of flakyMarks) plan.push(flaky, ...(flaky ? Array<boolean>(9).fill(false) : []));
          const run = async (throttle: RetryThrottle) => {
            let request = -1;
            let failedThis = -1;
            const p = createScriptedProvider({
              kind: "p",
              script: () => {
                if (plan[request] === true && failedThis !== request) {
                  failedThis = request;
                  return fail("server_error", { httpStatus: 503 });
                }
                return answer("ok");
              },
            });
            const d = dispatcherOver([p], { retryThrottle: throttle });
            const r = route([{ provider: "p", model: "m" }], { retry: { maxAttempts } });
            const ok = await drive(plan.length, 1, async () => {
              request++;
              return d.chat(r, chatRequest(), within(10_000));
            });
            return { ok, calls: p.calls.length };
          };
          const throttled = await run(createRetryThrottle());
          const baseline = await run(unthrottled);
          const flaky = plan.filter(Boolean).length;
          expect(baseline).toEqual({ ok: plan.length, calls: plan.length + flaky });
          expect(throttled).toEqual(baseline);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("recovers: once the outage ends every request takes one attempt, the bucket refills and retries resume", async () => {
    const health = { ok: false, failNext: false };
    const p = createScriptedProvider({
      kind: "p",
      script: () => {
        if (!health.ok || health.failNext) {
          health.failNext = false;
          return fail("server_error", { httpStatus: 503 });
        }
        return answer("ok");
      },
    });
    const throttle = createRetryThrottle();
    const d = dispatcherOver([p], { retryThrottle: throttle });
    const r = route([{ provider: "p", model: "m" }], { retry: { maxAttempts: 3 }, breaker: { volumeThreshold: 1_000_000 } });
    const chat = () => d.chat(r, chatRequest(), within(10_000));

    expect(await drive(100, 10, chat)).toBe(0);
    const outage = p.calls.length;
    // 100 first attempts and at most 4 retries (tokens 9, 8, 7, 6; fewer when failures of one
    // wave are charged before its retries are decided). The budget alone allowed ~2 per request.
    expect(outage).toBeGreaterThanOrEqual(100);
    expect(outage).toBeLessThanOrEqual(104);
    expect(throttle.states()[0]).toMatchObject({ tokens: 0 });
    expect(throttle.states()[0]!.throttled).toBeGreaterThanOrEqual(96);

    health.ok = true;
    expect(await drive(70, 10, chat)).toBe(70);
    expect(p.calls.length - outage).toBe(70);
    // 70 successes at 0.1: 7 tokens, so a failure (7 - 1 = 6 > 5) is retried again.
    expect(throttle.states()[0]?.tokens).toBe(7);

    health.failNext = true;
    const res = await chat();
    expect(res.attempts.map((a) => a.outcome)).toEqual(["unavailable", "success"]);
  });

  it("does not throttle a fallback: a drained primary still hands every request to a healthy secondary", async () => {
    const a = failing("a");
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const throttle = createRetryThrottle();
    const d = dispatcherOver([a, b], { retryThrottle: throttle });
    const r = route([{ provider: "a", model: "m" }, { provider: "b", model: "m", priority: 1 }], {
      retry: { maxAttempts: 3 },
      breaker: { volumeThreshold: 1_000_000 },
    });
    // Three in flight: the Envoy budget (min 3 concurrent) then admits every fallback.
    const answered = await drive(40, 3, () => d.chat(r, chatRequest(), within(10_000)));
    expect(answered).toBe(40);
    expect(b.calls).toHaveLength(40);
    // A's 40 first attempts plus at most the 4 retries its bucket allowed before it fell to half.
    expect(a.calls.length).toBeGreaterThanOrEqual(40);
    expect(a.calls.length).toBeLessThanOrEqual(44);
  });

  it("throttles a later target that is the same deployment as one already tried, like a retry", async () => {
    const a = failing("a");
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const throttle = createRetryThrottle();
    const d = dispatcherOver([a, b], { retryThrottle: throttle });
    const r = route(
      [
        { provider: "a", model: "m", priority: 0 },
        { provider: "a", model: "m", priority: 1, params: { region: "second" } },
        { provider: "b", model: "m", priority: 2 },
      ],
      { retry: { maxAttempts: 1 }, breaker: { volumeThreshold: 1_000_000 } },
    );
    const first = await d.chat(r, chatRequest(), within(10_000));
    expect(first.attempts.map((x) => [x.targetIndex, x.outcome])).toEqual([
      [0, "unavailable"],
      [1, "unavailable"],
      [2, "success"],
    ]);
    for (let i = 0; i < 10; i++) await d.chat(r, chatRequest(), within(10_000));
    const last = await d.chat(r, chatRequest(), within(10_000));
    expect(last.attempts.map((x) => [x.targetIndex, x.outcome])).toEqual([
      [0, "unavailable"],
      [2, "success"],
    ]);
  });

  it("takes a token for a stream that fails after content too (the upstream failed all the same), none for a complete one", async () => {
    const events = [{ chunk: { type: "start" as const, model: "m" } }, { chunk: { type: "text" as const, text: "Hel" } }, { fail: new ProviderError("stream_error", "cut") }];
    const a = createScriptedProvider({ kind: "a", script: [{ type: "stream", events }, textStream(["ok"])] });
    const throttle = createRetryThrottle();
    const d = dispatcherOver([a], { retryThrottle: throttle });
    const r = route([{ provider: "a", model: "m" }], { retry: { maxAttempts: 3, throttleMaxTokens: 10, throttleTokenRatio: 0.5 } });
    const cut = await drain(d.chatStream(r, chatRequest(), within(5_000)).chunks);
    expect(cut.error).toBeDefined();
    expect(throttle.states().map((x) => x.tokens)).toEqual([9]);
    const whole = await drain(d.chatStream(r, chatRequest(), within(5_000)).chunks);
    expect(whole.error).toBeUndefined();
    expect(throttle.states().map((x) => x.tokens)).toEqual([9.5]);
  });

  it("gives back the half-open probe of a same-deployment target it throttled, unsent", async () => {
    let clock = 0;
    const breakers = createBreakerRegistry({ now: () => clock });
    const breaker = { volumeThreshold: 1, resetTimeoutMs: 1_000 };
    const deployment = { provider: "a", model: "m" };
    // While the first attempt runs, other traffic opens the deployment's breaker and its reset
    // timeout passes: the later target of the same deployment would be its half-open probe.
    const a = createScriptedProvider({
      kind: "a",
      script: () => {
        breakers.get(deployment, { ...route([deployment]).breaker, ...breaker }).tryAcquire()?.settle("failure");
        clock += 1_000;
        return fail("server_error", { httpStatus: 503 });
      },
    });
    const b = createScriptedProvider({ kind: "b", script: [answer("from b")] });
    const refusing: RetryThrottle = { ...unthrottled, allowRetry: () => false };
    const d = dispatcherOver([a, b], { retryThrottle: refusing, breakers });
    const r = route(
      [
        { ...deployment, priority: 0 },
        { ...deployment, priority: 1, params: { region: "second" } },
        { provider: "b", model: "m", priority: 2 },
      ],
      { retry: { maxAttempts: 1 }, breaker },
    );
    const res = await d.chat(r, chatRequest(), within(10_000));
    expect(res.attempts.map((x) => [x.targetIndex, x.outcome])).toEqual([
      [0, "unavailable"],
      [2, "success"],
    ]);
    expect(breakers.peek(deployment)).toBe("half_open");
    expect(breakers.get(deployment, r.breaker).tryAcquire()).toBeDefined();
  });
});
