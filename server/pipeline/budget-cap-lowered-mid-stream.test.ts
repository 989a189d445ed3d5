/**
 * A budget's cap lowered (UpdateBudget) while a stream nothing caps is running: the change is in
 * force once the catalog has it, so the stream's next extension is checked against the new cap,
 * not the one in force when the stream was admitted — else a stream admitted under a generous cap
 * keeps extending its hold, for as long as it runs, against a cap the owner has just cut.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { dispatcherOver } from "../dispatch/testing/harness.js";
import { createScriptedProvider, type StreamEvent } from "../dispatch/testing/scripted-provider.js";
import { withDefaults } from "../dispatch/route-types.js";
import { createAttemptCost } from "../limits/attempt-cost.js";
import { createBudgetAlerts, type BudgetAlertEvent } from "../limits/budget-alerts.js";
import { createBudgetReservations, type BudgetRef } from "../limits/budget-reservation.js";
import { BUILTIN_PRICE_TABLE } from "../limits/builtin-prices.js";
import { TEST_PRICES } from "../limits/money-harness.testing.js";
import { createPriceBook } from "../limits/price-table.js";
import { emptyUsage, type ModelRequest } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";
import { createBudgetStage } from "./budget-stage.js";
import { testCallMeta } from "./call-meta.testing.js";
import { createDispatchPipeline } from "./dispatch-pipeline.js";
import { composeStages } from "./model-call.js";

// gpt-test: 1 µ$ an input token, 10 µ$ an output token. "go" is 5 input tokens; nothing caps the
// output, so the hold starts at 20 output tokens (205 µ$) and each extension adds 20 (200 µ$).
const budget = (limitMicros: bigint): BudgetRef => ({ id: "orgs/acme/budgets/key-daily", level: "key", limitMicros, period: "daily", tz: "UTC" });
const ask: ModelRequest = { model: "", messages: [{ role: "user", content: [{ type: "text", text: "go" }] }] };

/**
 * Runs a 40-token stream admitted under a 1,000,000 µ$ cap that is cut to what the admission holds
 * (205 µ$) after its first token; with soft alerts on the budget (default thresholds) after its settle.
 */
async function streamWithCapCut() {
  const clock = { now: () => Date.now() };
  const state = createMemoryState();
  const reservations = createBudgetReservations({ state, clock });
  const log = createLogCapture();
  const alerts = createBudgetAlerts({ state, reservations, settingsOf: () => ({ thresholdsPercent: [], webhookUrl: "" }), logger: log.logger, clock });
  let inForce = budget(1_000_000n);
  const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE, overrides: TEST_PRICES });
  const routes = new Map([["r", withDefaults({ alias: "r", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], retry: { maxAttempts: 1 } })]]);
  const resolver = { resolve: (alias: string) => routes.get(alias) };
  // 40 chunks of one token each (4 ASCII characters): 40 tokens, 405 µ$ in all.
  const events: StreamEvent[] = [{ chunk: { type: "start", model: "gpt-test" } }];
  for (let i = 0; i < 40; i++) events.push({ chunk: { type: "text", text: "abcd" } });
  events.push({ chunk: { type: "finish", reason: "stop" } }, { chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: 5, outputTokens: 40 } } });
  const provider = createScriptedProvider({ kind: "openai", script: [{ type: "stream", events }] });
  const stage = createBudgetStage(
    { reservations, catalog: { budgetsFor: () => [inForce] }, routes: resolver, prices, alerts, logger: createLogCapture().logger },
    { defaultMaxOutputTokens: 20 },
  );
  const pipeline = composeStages([stage], createDispatchPipeline({ dispatcher: dispatcherOver([provider]), routes: resolver, cost: createAttemptCost(prices) }));

  const stream = pipeline.chatStream({ meta: testCallMeta({ requestId: "req-lowered" }), request: ask });
  let released = 0;
  let error: ConnectError | undefined;
  try {
    for await (const chunk of stream.chunks) {
      if (chunk.type !== "text") continue;
      released++;
      // After the first chunk the owner cuts the cap to what the admission holds (205 µ$).
      if (released === 1) inForce = budget(205n);
    }
  } catch (err) {
    error = ConnectError.from(err);
  }
  const result = await stream.result();
  await stage.drain();
  await alerts.drain();
  const alerted = log.lines().filter((l) => l.alert !== undefined).map((l) => l.alert as BudgetAlertEvent);
  return { released, error, result, alerted };
}

describe("budget stage: a cap lowered while a stream runs", () => {
  it("refuses the stream's next extension under the new cap", async () => {
    const { released, error, result } = await streamWithCapCut();
    // The first extension (before the 15th token: ¾ of 20) would take the hold past 205 µ$: the
    // stream ends there, billed what was generated, within the new cap.
    expect({ released, code: error === undefined ? "none" : Code[error.code], withinNewCap: result.costMicrosUsd <= 205n }).toEqual({ released: 14, code: "ResourceExhausted", withinNewCap: true });
  });

  it("judges the call's soft alerts against the new cap, not the admission's", async () => {
    const { result, alerted } = await streamWithCapCut();
    // What was generated (14 tokens, ~150 µ$) is over half of the new 205 µ$ cap, not yet 80 %
    // of it, and a sliver of the old one.
    const spent = result.costMicrosUsd;
    expect(spent * 100n >= 205n * 50n && spent * 100n < 205n * 80n).toBe(true);
    expect(alerted.map((e) => ({ percent: e.thresholdPercent, limit: e.limitMicrosUsd, spent: e.spentMicrosUsd }))).toEqual([{ percent: 50, limit: "205", spent: spent.toString() }]);
  });
});

describe("budget reservations: an extension refused under a lowered cap", () => {
  it("names the budget as in force, its cap the refusal's", async () => {
    const reservations = createBudgetReservations({ state: createMemoryState(), clock: { now: () => Date.now() } });
    const admitted = await reservations.reserve({ tenant: "acme", budgets: [budget(1_000n)], amountMicros: 100n });
    if (!admitted.ok) throw new Error("refused");
    const refused = await reservations.extend(admitted.reservation, 200n, [budget(250n)]);
    expect(refused.ok ? undefined : { refusalCap: refused.refusal.limitMicros, budgetCap: refused.refusal.budget.limitMicros }).toEqual({ refusalCap: 250n, budgetCap: 250n });
  });

  it("takes no cap from an extension it throws out", async () => {
    const reservations = createBudgetReservations({ state: createMemoryState(), clock: { now: () => Date.now() } });
    const admitted = await reservations.reserve({ tenant: "acme", budgets: [budget(1_000n)], amountMicros: 100n });
    if (!admitted.ok) throw new Error("refused");
    await expect(reservations.extend(admitted.reservation, -1n, [budget(150n)])).rejects.toThrow(/negative/);
    expect((await reservations.extend(admitted.reservation, 200n)).ok).toBe(true);
  });
});
