import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jitteredBackoffMs, retryDelayMs } from "./backoff.js";
import { seededRandom } from "./testing/harness.js";

const policy = { initialBackoffMs: 25, maxBackoffMs: 250 };

describe("jitteredBackoffMs", () => {
  it("stays in [0, min(max, base·2^(n−1)))", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const ms = jitteredBackoffMs(n, policy, () => r);
        return ms >= 0 && ms < Math.min(250, 25 * 2 ** (n - 1));
      }),
    );
  });
  it("is uniform over its range (KS test on 10^4 samples)", () => {
    const random = seededRandom(42);
    const n = 10_000;
    const ceiling = 100; // retry 3: min(250, 25·4)
    const samples = Array.from({ length: n }, () => jitteredBackoffMs(3, policy, random)).sort((a, b) => a - b);
    let d = 0;
    samples.forEach((x, i) => {
      const cdf = (x + 1) / ceiling; // floor() makes the distribution discrete on 0..99
      d = Math.max(d, Math.abs(cdf - (i + 1) / n), Math.abs(x / ceiling - i / n));
    });
    // Critical value at p = 0.01: 1.63 / sqrt(n).
    expect(d).toBeLessThan(1.63 / Math.sqrt(n));
  });
});

describe("retryDelayMs", () => {
  const base = { policy, random: () => 0.5, maxRetryAfterMs: 30_000, now: 0, deadline: 10_000, minAttemptMs: 50 };
  it("takes the provider's retry-after as a floor", () => {
    expect(retryDelayMs({ ...base, retry: 1, retryAfterMs: 800 })).toBe(800);
    expect(retryDelayMs({ ...base, retry: 1, retryAfterMs: 1 })).toBe(12);
  });
  it("does not retry when the wait would cross the deadline", () => {
    expect(retryDelayMs({ ...base, retry: 1, retryAfterMs: 9_980 })).toBe("deadline");
    expect(retryDelayMs({ ...base, retry: 1, deadline: 40 })).toBe("deadline");
  });
  it("does not wait for a retry-after beyond the cap", () => {
    expect(retryDelayMs({ ...base, deadline: 100_000, retry: 1, retryAfterMs: 31_000 })).toBe("retry_after");
  });
  it("waits for a retry-after of exactly the cap (only a longer one is not waited for)", () => {
    expect(retryDelayMs({ ...base, deadline: 100_000, retry: 1, retryAfterMs: 30_000 })).toBe(30_000);
    expect(retryDelayMs({ ...base, deadline: 100_000, retry: 1, retryAfterMs: 30_001 })).toBe("retry_after");
  });
  it("retries when the wait leaves exactly the least attempt time before the deadline, not a millisecond less", () => {
    // now 0 + wait 800 + minAttemptMs 50 = 850.
    expect(retryDelayMs({ ...base, retry: 1, retryAfterMs: 800, deadline: 850 })).toBe(800);
    expect(retryDelayMs({ ...base, retry: 1, retryAfterMs: 800, deadline: 849 })).toBe("deadline");
  });
});
