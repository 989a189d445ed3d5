import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BudgetExceededSchema, BudgetLevel, BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { BudgetLevelName, BudgetRefusal } from "./budget-reservation.js";
import type { BudgetPeriodName } from "./periods.js";

/** Domain level → the proto enum, for every detail that names a level. */
export const BUDGET_LEVEL: Readonly<Record<BudgetLevelName, BudgetLevel>> = {
  org: BudgetLevel.ORG,
  team: BudgetLevel.TEAM,
  key: BudgetLevel.KEY,
  tag: BudgetLevel.TAG,
};

const PERIOD: Record<BudgetPeriodName, BudgetPeriod> = {
  daily: BudgetPeriod.DAILY,
  weekly: BudgetPeriod.WEEKLY,
  monthly: BudgetPeriod.MONTHLY,
  total: BudgetPeriod.TOTAL,
};

/**
 * The one mapping from a budget refusal to what the caller sees: `ResourceExhausted` with a
 * `BudgetExceeded` detail naming the level and budget that refused, its cap, the spend settled
 * and held in the current period, what this request needed, and when the period resets — the
 * facts a caller acts on, as typed fields rather than parsed from the message (STYLE rule 4).
 */
export function budgetExceededError(refusal: BudgetRefusal): ConnectError {
  const { budget, period } = refusal;
  const detail = create(BudgetExceededSchema, {
    level: BUDGET_LEVEL[budget.level],
    budget: budget.id,
    limitMicrosUsd: refusal.limitMicros,
    spentMicrosUsd: refusal.spentMicros,
    reservedMicrosUsd: refusal.reservedMicros,
    requestedMicrosUsd: refusal.requestedMicros,
    period: PERIOD[budget.period],
    ...(period.end === undefined ? {} : { resetTime: timestampFromDate(period.end) }),
  });
  const resets = period.end === undefined ? "" : `; it resets at ${period.end.toISOString()}`;
  return new ConnectError(`${budget.level} budget ${budget.id} exceeded for ${period.key}${resets}`, Code.ResourceExhausted, undefined, [
    { desc: BudgetExceededSchema, value: detail },
  ]);
}
