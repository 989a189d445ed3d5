import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BudgetSchema, UpdateBudgetRequestSchema } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { createMaskedUpdate } from "./masked-update.js";

const update = createMaskedUpdate(UpdateBudgetRequestSchema, "budget", BudgetSchema);

function refused(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a refusal");
}

describe("masked update", () => {
  const stored = create(BudgetSchema, { name: "orgs/a/budgets/b", target: "orgs/a", limitMicrosUsd: 5n, period: BudgetPeriod.MONTHLY, timeZone: "UTC" });

  it("takes the masked fields from the given resource and keeps the rest", () => {
    const merged = update.merge(stored, create(BudgetSchema, { limitMicrosUsd: 9n, timeZone: "x".repeat(500) }), new Set(["limit_micros_usd"]));
    expect(merged.limitMicrosUsd).toBe(9n);
    expect(merged.timeZone).toBe("UTC");
  });

  it("refuses an invalid masked value, naming it under the request's field", () => {
    const err = refused(() => update.merge(stored, create(BudgetSchema, { limitMicrosUsd: -1n }), new Set(["limit_micros_usd"])));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("budget.limit_micros_usd");
  });

  // A rule tightened after a resource was stored (or a row written by an older version) must not
  // lock the resource: an update that does not touch the field is not refused for what it holds,
  // and the update that mends it is accepted.
  it("does not refuse an update for a stored field it does not mask, which no longer passes its rule", () => {
    const legacy = create(BudgetSchema, { ...stored, timeZone: "x".repeat(100) });
    const merged = update.merge(legacy, create(BudgetSchema, { limitMicrosUsd: 7n }), new Set(["limit_micros_usd"]));
    expect(merged.limitMicrosUsd).toBe(7n);
    const mended = update.merge(legacy, create(BudgetSchema, { timeZone: "Europe/Paris" }), new Set(["time_zone"]));
    expect(mended.timeZone).toBe("Europe/Paris");
    const still = refused(() => update.merge(legacy, create(BudgetSchema, { timeZone: "y".repeat(100) }), new Set(["time_zone"])));
    expect(still.rawMessage).toContain("budget.time_zone");
  });
});
