import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BudgetExceededSchema, BudgetLevel, BudgetPeriod, RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { budgetExceededError } from "./budget-error.js";
import type { BudgetRefusal } from "./budget-reservation.js";
import { periodOf } from "./periods.js";
import { rateLimitExceededError } from "./rate-limit-error.js";

describe("budgetExceededError", () => {
  const at = new Date("2026-11-29T12:00:00Z");
  const refusal = (period: "daily" | "total"): BudgetRefusal => ({
    budget: { id: "orgs/acme/budgets/team-eng", level: "team", limitMicros: 1_000_000n, period, tz: "UTC" },
    period: periodOf(period, "UTC", at),
    limitMicros: 1_000_000n,
    spentMicros: 700_000n,
    reservedMicros: 250_000n,
    requestedMicros: 80_000n,
  });

  it("is ResourceExhausted with a BudgetExceeded detail a caller can act on", () => {
    const err = budgetExceededError(refusal("daily"));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("team budget orgs/acme/budgets/team-eng exceeded for 2026-11-29; it resets at 2026-11-30T00:00:00.000Z");
    const [detail] = err.findDetails(BudgetExceededSchema);
    expect(detail).toMatchObject({
      level: BudgetLevel.TEAM,
      budget: "orgs/acme/budgets/team-eng",
      limitMicrosUsd: 1_000_000n,
      spentMicrosUsd: 700_000n,
      reservedMicrosUsd: 250_000n,
      requestedMicrosUsd: 80_000n,
      period: BudgetPeriod.DAILY,
    });
    expect(timestampDate(detail!.resetTime!)).toEqual(new Date("2026-11-30T00:00:00Z"));
  });

  it("has no reset time for a total budget", () => {
    const [detail] = budgetExceededError(refusal("total")).findDetails(BudgetExceededSchema);
    expect(detail?.period).toBe(BudgetPeriod.TOTAL);
    expect(detail?.resetTime).toBeUndefined();
  });
});

describe("rateLimitExceededError", () => {
  const rule = { id: "orgs/acme/rate-limits/key-1", level: "key", requestsPerMinute: 60 } as const;

  it("is ResourceExhausted with a RateLimitExceeded detail carrying the retry delay", () => {
    const err = rateLimitExceededError({ rule, dimension: "requests", limit: 60, retryAfterMs: 1500 });
    expect(err.code).toBe(Code.ResourceExhausted);
    const [detail] = err.findDetails(RateLimitExceededSchema);
    expect(detail).toMatchObject({ level: BudgetLevel.KEY, rateLimit: rule.id, dimension: RateLimitDimension.REQUESTS, limit: 60n });
    expect(detail?.retryDelay).toMatchObject({ seconds: 1n, nanos: 500_000_000 });
    expect(err.rawMessage).toContain("retry in 2 s");
  });

  it("has no retry delay when waiting cannot help", () => {
    const err = rateLimitExceededError({ rule, dimension: "tokens", limit: 1000 });
    const [detail] = err.findDetails(RateLimitExceededSchema);
    expect(detail?.dimension).toBe(RateLimitDimension.TOKENS);
    expect(detail?.retryDelay).toBeUndefined();
    expect(err.rawMessage).toContain("alone exceeds 1000 tokens per minute");
  });
});
