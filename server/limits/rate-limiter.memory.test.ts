import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryState } from "../store/state/memory-state.js";
import { runRateLimiterContract } from "./rate-limiter.contract.js";
import { createRateLimiter, type RateLimitRule } from "./rate-limiter.js";

runRateLimiterContract("memory", (now) => {
  const state = createMemoryState({ now });
  return { connect: () => state, dispose: () => state.close() };
});

describe("rate limiter: the state's clock decides, the gateway's is off by a skew", () => {
  const MINUTE = 60_000;
  const rule: RateLimitRule = { id: "orgs/acme/rate-limits/key", level: "key", requestsPerMinute: 5 };
  afterEach(() => {
    vi.restoreAllMocks();
  });

  // As in production: no clock given, so the backend's own (Redis `TIME`) decides the window, and
  // the standing is worked out on the gateway's `Date.now()`.
  const resetWith = async (stateAt: number, skewMs: number): Promise<number | undefined> => {
    const state = createMemoryState({ now: () => stateAt });
    vi.spyOn(Date, "now").mockReturnValue(stateAt + skewMs);
    const outcome = await createRateLimiter({ state }).check({ tenant: "org-acme", rules: [rule], standing: true });
    await state.close();
    return outcome.allowed ? outcome.standing?.requests?.resetMs : undefined;
  };

  it("reports the reset off by at most the skew, also when the skew puts the gateway in another window", async () => {
    const boundary = Date.parse("2026-11-29T12:00:00Z");
    // 59.5 s into the state's window, the gateway 2 s ahead (in the next one): really back to full in 60.5 s.
    const ahead = await resetWith(boundary + 59_500, 2_000);
    expect(Math.abs(ahead! - (2 * MINUTE - 59_500))).toBeLessThanOrEqual(2_000);
    // 0.5 s into the state's window, the gateway 2 s behind (in the previous one): really 119.5 s.
    const behind = await resetWith(boundary + 500, -2_000);
    expect(Math.abs(behind! - (2 * MINUTE - 500))).toBeLessThanOrEqual(2_000);
  });
});
