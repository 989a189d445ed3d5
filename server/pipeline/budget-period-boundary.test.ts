import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { withDefaults } from "../dispatch/route-types.js";
import { createAttemptCost } from "../limits/attempt-cost.js";
import { BUILTIN_PRICE_TABLE } from "../limits/builtin-prices.js";
import { createBudgetReservations, type BudgetRef } from "../limits/budget-reservation.js";
import { createBudgetSeeder } from "../limits/budget-seeder.js";
import { TEST_PRICES } from "../limits/money-harness.testing.js";
import { createPeriodCalendar } from "../limits/periods.js";
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
 * A daily budget over the real budget and usage stages with the seeder (counters start from the
 * ledger), on one clock: a call reserved before midnight that ends after it must count in the
 * same period in the ledger (GetBudgetStatus, the seed) as in the counters its settle books. The
 * ledger used to stamp the call with its end, the counters with its reservation.
 */
describe("a call in flight across a period boundary", () => {
  it("keeps the ledger's spend of the new period within the cap (P1)", async () => {
    let now = Date.parse("2026-11-29T23:59:59Z");
    const clock = { now: () => now };
    const state = createMemoryState({ now: clock.now });
    const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE, overrides: TEST_PRICES });
    const cost = createAttemptCost(prices);
    const ledger: UsageRecordRow[] = [];
    const ledgerSpent = async (_tenant: string, _b: BudgetRef, period: { start: Date; end?: Date }) =>
      ledger.filter((r) => r.occurredAt >= period.start && (period.end === undefined || r.occurredAt < period.end)).reduce((s, r) => s + r.costMicros, 0n);
    const reservations = createBudgetReservations({ state, clock });
    const seeder = createBudgetSeeder({ state, clock, ledgerSpent });
    // 207 µ$ a call: 7 input tokens at 1 µ$, 20 output tokens at 10 µ$ (reserved and billed alike).
    const budget: BudgetRef = { id: "orgs/acme/budgets/daily", level: "key", limitMicros: 414n, period: "daily", tz: "UTC" };
    const route = withDefaults({ alias: "r", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }] });
    const logger = createLogCapture().logger;
    const stage = createBudgetStage({ reservations, catalog: { budgetsFor: () => [budget] }, routes: { resolve: () => route }, prices, seeder, logger, clock });
    let releaseFirst!: () => void;
    const firstGate = new Promise<void>((r) => (releaseFirst = r));
    const answer: ScriptedStep = { type: "answer", text: "x", provider: "openai", model: "gpt-test", usage: { inputTokens: 7, outputTokens: 20 }, costMicrosUsd: 207n };
    const inner = createScriptedPipeline(async (_call, n) => {
      if (n === 1) await firstGate; // the first call is still running at midnight
      return answer;
    });
    const pipeline = behindAFrontDoor(
      composeStages([stage, createUsageStage({ ledger: { append: async (rows) => void ledger.push(...rows), hasCapacity: () => true, retryDelayMs: () => 200 }, cost, priceVersion: () => "v", logger, clock })], inner),
    );
    const ask = () =>
      pipeline.chat({ meta: testCallMeta({ requestId: `req-${Math.random()}` }), request: { model: "", messages: [{ role: "user", content: [{ type: "text", text: "hello there" }] }], maxOutputTokens: 20 } });

    const first = ask(); // reserved at 23:59:59 on Nov 29
    await expect.poll(() => inner.calls.length).toBe(1);
    now = Date.parse("2026-11-30T00:00:01Z");
    await ask(); // Nov 30: the cap's two calls
    await ask();
    releaseFirst();
    await first; // ends at 00:00:01: its ledger row is Nov 30's
    await stage.drain();
    const refused = await ask().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e).code,
    );
    expect(refused).toBe(Code.ResourceExhausted);

    const nov30 = createPeriodCalendar().periodOf("daily", "UTC", new Date(now));
    const ledgerNov30 = await ledgerSpent("org_a", budget, nov30);
    // The authority's spend for Nov 30 (what GetBudgetStatus reports) against the cap.
    expect(ledgerNov30, `Nov 30 ledger rows: ${ledger.filter((r) => r.occurredAt >= nov30.start).length}`).toBeLessThanOrEqual(budget.limitMicros);
    // The first call is Nov 29's, in the ledger as in the counters.
    const nov29 = createPeriodCalendar().periodOf("daily", "UTC", new Date(Date.parse("2026-11-29T12:00:00Z")));
    expect(await ledgerSpent("org_a", budget, nov29)).toBe(207n);
    expect((await reservations.snapshot("org_a", budget, nov29.start)).spentMicros).toBe(207n);
    await state.close();
  });
});
