import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRetryThrottle } from "./retry-throttle.js";

const A6 = { throttleMaxTokens: 10, throttleTokenRatio: 0.1 };
const a = { provider: "openai", model: "gpt", credential: "credentials/a" };
const b = { provider: "openai", model: "gpt", credential: "credentials/b" };
const tokensOf = (t: ReturnType<typeof createRetryThrottle>, target = a) =>
  t.states().find((s) => s.target.credential === target.credential)?.tokens;

describe("retry throttle (gRPC A6 token bucket per target)", () => {
  it("starts full, allows retries while above half, and refuses from half down", () => {
    const t = createRetryThrottle();
    expect(t.allowRetry(a, A6)).toBe(true);
    expect(tokensOf(t)).toBe(10);
    const allowed: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      t.recordFailure(a, A6);
      allowed.push(t.allowRetry(a, A6));
    }
    // 9, 8, 7, 6 > 5; 5 and 4 are not.
    expect(allowed).toEqual([true, true, true, true, false, false]);
    expect(t.states()).toEqual([{ target: a, tokens: 4, throttled: 2 }]);
  });

  it("refills by the ratio exactly (thousandths) and never beyond the maximum", () => {
    const t = createRetryThrottle();
    for (let i = 0; i < 20; i++) t.recordFailure(a, A6);
    expect(tokensOf(t)).toBe(0);
    for (let i = 0; i < 51; i++) t.recordSuccess(a, A6);
    expect(tokensOf(t)).toBe(5.1);
    expect(t.allowRetry(a, A6)).toBe(true);
    for (let i = 0; i < 100; i++) t.recordSuccess(a, A6);
    expect(tokensOf(t)).toBe(10);
  });

  it("keeps one bucket per target (a credential is its own target)", () => {
    const t = createRetryThrottle();
    for (let i = 0; i < 8; i++) t.recordFailure(a, A6);
    expect(t.allowRetry(a, A6)).toBe(false);
    expect(t.allowRetry(b, A6)).toBe(true);
    expect(tokensOf(t, b)).toBe(10);
  });

  it("applies the calling route's knobs, clamping tokens to a smaller maximum", () => {
    const t = createRetryThrottle();
    t.recordSuccess(a, { throttleMaxTokens: 100, throttleTokenRatio: 1 });
    expect(tokensOf(t)).toBe(100);
    expect(t.allowRetry(a, { throttleMaxTokens: 4, throttleTokenRatio: 1 })).toBe(true);
    expect(tokensOf(t)).toBe(4);
  });

  it("property: tokens stay in [0, max] and a retry is allowed exactly while tokens > max / 2", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }).map((n) => n / 1000),
        fc.array(fc.constantFrom("fail", "ok", "ask"), { maxLength: 300 }),
        (max, ratio, ops) => {
          const policy = { throttleMaxTokens: max, throttleTokenRatio: ratio };
          const t = createRetryThrottle();
          let refusals = 0;
          for (const op of ops) {
            if (op === "fail") t.recordFailure(a, policy);
            else if (op === "ok") t.recordSuccess(a, policy);
            else {
              const before = tokensOf(t) ?? max;
              const ok = t.allowRetry(a, policy);
              expect(ok).toBe(before > max / 2);
              if (!ok) refusals++;
            }
            const tokens = tokensOf(t)!;
            expect(tokens).toBeGreaterThanOrEqual(0);
            expect(tokens).toBeLessThanOrEqual(max);
          }
          expect(t.states()[0]?.throttled ?? 0).toBe(refusals);
        },
      ),
      { numRuns: 300 },
    );
  });
});
