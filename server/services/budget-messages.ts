import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BudgetSchema, RateLimitSchema, type Budget, type RateLimit } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { fieldViolation } from "../errors/field-violation.js";
import { BUDGET_LEVEL } from "../limits/budget-error.js";
import type { BudgetPeriodName } from "../limits/periods.js";
import type { BudgetRecord, RateLimitRecord } from "../store/limit-store.js";

const PERIOD_NAME: Partial<Record<BudgetPeriod, BudgetPeriodName>> = {
  [BudgetPeriod.DAILY]: "daily",
  [BudgetPeriod.WEEKLY]: "weekly",
  [BudgetPeriod.MONTHLY]: "monthly",
  [BudgetPeriod.TOTAL]: "total",
};
const PERIOD_PROTO: Record<BudgetPeriodName, BudgetPeriod> = {
  daily: BudgetPeriod.DAILY,
  weekly: BudgetPeriod.WEEKLY,
  monthly: BudgetPeriod.MONTHLY,
  total: BudgetPeriod.TOTAL,
};

/** A proto period as the domain names it; `InvalidArgument` naming `field` for UNSPECIFIED. */
export function periodOfProto(period: BudgetPeriod, field: string): BudgetPeriodName {
  const name = PERIOD_NAME[period];
  if (name === undefined) throw fieldViolation(field, "must be set", "budget.period.required");
  return name;
}

/** A time zone the period calendar can use ("" means UTC); `InvalidArgument` naming `field` otherwise. */
export function timeZoneOf(tz: string, field: string): string {
  const zone = tz === "" ? "UTC" : tz;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw fieldViolation(field, `unknown time zone "${tz}" (use an IANA name such as Europe/Paris)`, "budget.time_zone.known");
  }
  return zone;
}

/** Alert thresholds, deduplicated and ascending. */
export function thresholdsOf(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** A stored budget as the API returns it. */
export function budgetMessage(r: BudgetRecord): Budget {
  return create(BudgetSchema, {
    name: `orgs/${r.orgName}/budgets/${r.name}`,
    target: r.target,
    limitMicrosUsd: r.limitMicros,
    period: PERIOD_PROTO[r.period],
    timeZone: r.timeZone,
    alertThresholdsPercent: r.alertThresholdsPercent,
    alertWebhookUrl: r.alertWebhookUrl,
    level: BUDGET_LEVEL[r.level],
    createTime: timestampFromDate(r.createdAt),
    updateTime: timestampFromDate(r.updatedAt),
  });
}

/** A stored rate limit as the API returns it. */
export function rateLimitMessage(r: RateLimitRecord): RateLimit {
  return create(RateLimitSchema, {
    name: `orgs/${r.orgName}/rate-limits/${r.name}`,
    target: r.target,
    requestsPerMinute: BigInt(r.requestsPerMinute),
    tokensPerMinute: BigInt(r.tokensPerMinute),
    level: BUDGET_LEVEL[r.level],
    createTime: timestampFromDate(r.createdAt),
    updateTime: timestampFromDate(r.updatedAt),
  });
}
