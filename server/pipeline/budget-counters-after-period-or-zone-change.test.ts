import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { withDefaults } from "../dispatch/route-types.js";
import { createAttemptCost } from "../limits/attempt-cost.js";
import { BUILTIN_PRICE_TABLE } from "../limits/builtin-prices.js";
import { createBudgetReservations, type BudgetRef } from "../limits/budget-reservation.js";
import { createBudgetSeeder } from "../limits/budget-seeder.js";
import { TEST_PRICES } from "../limits/money-harness.testing.js";
import { periodOf, type Period } from "../limits/periods.js";
import { createPriceBook } from "../limits/price-table.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import { createScriptedPipeline, type ScriptedStep } from "../verbs/testing/scripted-pipeline.js";
import { createBudgetStage } from "./budget-stage.js";
import { testCallMeta } from "./call-meta.testing.js";
import { behindAFrontDoor } from "./front-door.testing.js";
import { composeStages } from "./model-call.js";
import { createUsageStage } from "./usage-stage.js";

/**
 * UpdateBudget may change a budget's `time_zone` or `period` (BudgetService, update_mask). The
 * fast-path counters are keyed by budget id and period key only (`budget:{org}:<id>:2026-11-29`),
 * so after the change the budget can land on a counter that was seeded — and marked seeded — under
 * the old zone or kind, for a different interval of time. It is then never re-seeded from the
 * ledger (P7), and the calls the ledger already counts in the new period are missing from it:
 * admission goes past the cap the ledger (and GetBudgetStatus) measures (P1).
 *
 * The same holds for a budget deleted and created again under its name on another target. The
 * store therefore gives the budget a fresh counter epoch on such a change, and the counter keys
 * carry it (`counterKey`; the store's side: `server/store/budget-counter-epoch.test.ts`).
 *
 * The real budget and usage stages with the seeder, on one clock; the ledger is an in-memory list
 * of the usage stage's rows, its spend summed exactly as `UsageStore.spent` sums it. The budget is
 * changed as the store changes it and the catalog then delivers it: a new epoch (a fresh
 * `limit_revisions` value) when the period or time zone changes or the name is reused.
 */
function harness(initial: BudgetRef, initialTarget = "key_a") {
  let now = 0;
  const clock = { now: () => now };
  const state = createMemoryState({ now: clock.now });
  const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE, overrides: TEST_PRICES });
  const cost = createAttemptCost(prices);
  const ledger: UsageRecordRow[] = [];
  // A key-level budget: the spend of its target key (`UsageStore.spent`'s `key_id = …`).
  let target = initialTarget;
  const ledgerSpent = async (_tenant: string, _b: BudgetRef, period: { start: Date; end?: Date }) =>
    ledger
      .filter((r) => r.keyId === target && r.occurredAt >= period.start && (period.end === undefined || r.occurredAt < period.end))
      .reduce((s, r) => s + r.costMicros, 0n);
  const reservations = createBudgetReservations({ state, clock });
  const seeder = createBudgetSeeder({ state, clock, ledgerSpent });
  let budget = initial;
  let revisions = 1000n;
  const route = withDefaults({ alias: "r", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }] });
  const logger = createLogCapture().logger;
  const stage = createBudgetStage({ reservations, catalog: { budgetsFor: (caller) => (caller.keyId === target ? [budget] : []) }, routes: { resolve: () => route }, prices, seeder, logger, clock });
  // 207 µ$ a call: 7 input tokens at 1 µ$, 20 output tokens at 10 µ$ (reserved and billed alike).
  const answer: ScriptedStep = { type: "answer", text: "x", provider: "openai", model: "gpt-test", usage: { inputTokens: 7, outputTokens: 20 }, costMicrosUsd: 207n };
  const inner = createScriptedPipeline(async () => answer);
  const pipeline = behindAFrontDoor(
    composeStages([stage, createUsageStage({ ledger: { append: async (rows) => void ledger.push(...rows), hasCapacity: () => true, retryDelayMs: () => 200 }, cost, priceVersion: () => "v", logger, clock })], inner),
  );
  /** One call at `iso`: "ok" or the refusal's code. */
  const callAt = async (iso: string, keyId = "key_a"): Promise<"ok" | Code> => {
    now = Date.parse(iso);
    const outcome = await pipeline
      .chat({ meta: testCallMeta({ requestId: `req-${Math.random()}`, caller: { orgId: "org_a", teamId: "team_a", keyId } }), request: { model: "", messages: [{ role: "user", content: [{ type: "text", text: "hello there" }] }], maxOutputTokens: 20 } })
      .then(
        () => "ok" as const,
        (e: unknown) => ConnectError.from(e).code,
      );
    await stage.drain();
    return outcome;
  };
  return {
    callAt,
    /** UpdateBudget, as the catalog delivers it to the hot path. */
    update(patch: Partial<BudgetRef>) {
      const moved = (patch.period ?? budget.period) !== budget.period || (patch.tz ?? budget.tz) !== budget.tz;
      budget = { ...budget, ...patch, ...(moved ? { counterEpoch: ++revisions } : {}) };
    },
    /** DeleteBudget, then CreateBudget with the same name on another key. */
    recreateOn(keyId: string) {
      target = keyId;
      budget = { ...budget, counterEpoch: ++revisions };
    },
    /** The ledger's spend in the budget's current period (what GetBudgetStatus reports). */
    ledgerSpentNow: () => {
      const period: Period = periodOf(budget.period, budget.tz, new Date(now));
      return ledgerSpent("org_a", budget, period);
    },
    close: () => state.close(),
  };
}

describe("budget counters after the budget changes zone, kind or target under the same name", () => {
  it("a daily budget moved from UTC to Asia/Tokyo stays within its cap in the new zone's day (P1, P7)", async () => {
    // Three calls a day.
    const h = harness({ id: "orgs/acme/budgets/daily", level: "key", limitMicros: 621n, period: "daily", tz: "UTC" });
    // Nov 28 20:00 UTC (Nov 29 05:00 in Tokyo): two calls of UTC's Nov 28.
    expect(await h.callAt("2026-11-28T20:00:00Z")).toBe("ok");
    expect(await h.callAt("2026-11-28T20:00:01Z")).toBe("ok");
    // Nov 29 01:00 UTC: one call; the counter `…:2026-11-29` is seeded with UTC's Nov 29 (0).
    expect(await h.callAt("2026-11-29T01:00:00Z")).toBe("ok");

    h.update({ tz: "Asia/Tokyo" });
    // Tokyo's Nov 29 runs from Nov 28 15:00 UTC: the ledger already has the cap's three calls in it.
    expect(await h.ledgerSpentNow()).toBe(621n);
    const after = [await h.callAt("2026-11-29T02:00:00Z"), await h.callAt("2026-11-29T02:00:01Z")];
    expect(after, "calls admitted after the cap was reached in Tokyo's Nov 29").toEqual([Code.ResourceExhausted, Code.ResourceExhausted]);
    expect(await h.ledgerSpentNow()).toBeLessThanOrEqual(621n);
    await h.close();
  });

  it("a daily budget switched to weekly and back the same day stays within its daily cap (P1, P7)", async () => {
    // Two calls a day.
    const h = harness({ id: "orgs/acme/budgets/b", level: "key", limitMicros: 414n, period: "daily", tz: "UTC" });
    expect(await h.callAt("2026-11-25T09:00:00Z")).toBe("ok"); // counter `…:2026-11-25` seeded, 207
    h.update({ period: "weekly" });
    expect(await h.callAt("2026-11-25T10:00:00Z")).toBe("ok"); // counted in `…:2026-W48` only
    h.update({ period: "daily" });
    // Back to daily: the ledger has the day's two calls, the cap.
    expect(await h.ledgerSpentNow()).toBe(414n);
    expect(await h.callAt("2026-11-25T11:00:00Z"), "a third call on a two-call daily cap").toBe(Code.ResourceExhausted);
    expect(await h.ledgerSpentNow()).toBeLessThanOrEqual(414n);
    await h.close();
  });

  it("a budget deleted and created again under the same name on another key starts from that key's spend (P1, P7)", async () => {
    const h = harness({ id: "orgs/acme/budgets/b", level: "key", limitMicros: 414n, period: "daily", tz: "UTC" }, "key_a");
    expect(await h.callAt("2026-11-25T08:00:00Z", "key_b")).toBe("ok"); // key_b, under no budget yet
    expect(await h.callAt("2026-11-25T08:00:01Z", "key_b")).toBe("ok");
    expect(await h.callAt("2026-11-25T09:00:00Z", "key_a")).toBe("ok"); // counter `…:b:2026-11-25` seeded from key_a's 0
    h.recreateOn("key_b");
    // The new budget's key has spent the cap today.
    expect(await h.ledgerSpentNow()).toBe(414n);
    expect(await h.callAt("2026-11-25T10:00:00Z", "key_b"), "a call past the new budget's cap").toBe(Code.ResourceExhausted);
    expect(await h.ledgerSpentNow()).toBeLessThanOrEqual(414n);
    await h.close();
  });
});
