import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withDefaults, type ResolvedRoute } from "../dispatch/route-types.js";
import { createBudgetReservations, type BudgetRef, type BudgetReservations, type Reservation } from "../limits/budget-reservation.js";
import { estimateInputTokens } from "../limits/call-estimate.js";
import { costMicros } from "../limits/cost.js";
import { TEST_PRICES } from "../limits/money-harness.testing.js";
import { createPriceBook } from "../limits/price-table.js";
import { emptyUsage, type ModelChunk, type ModelRequest } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createScriptedPipeline } from "../verbs/testing/scripted-pipeline.js";
import { createBudgetStage, type BudgetStageDeps } from "./budget-stage.js";
import { testCallMeta } from "./call-meta.testing.js";
import type { ModelPipeline } from "./model-call.js";

// What the budget stage holds, and when it asks for more: the hold covers every attempt a call
// may have running at once at the output cap dispatch sends (P1), and nothing the call cannot use.

const DEFAULT_MAX = 20;
const prices = createPriceBook({ builtin: TEST_PRICES });
const at = new Date("2026-06-01T00:00:00Z");
/** gpt-test-b, the dearest target of every route here (1 µ$ an input token, 20 an output token). */
const dearest = prices.priceAt("openai", "gpt-test-b", at)!.price;
const cap = (limit: number | bigint): BudgetRef => ({ id: "orgs/acme/budgets/key", level: "key", limitMicros: BigInt(limit), period: "daily", tz: "UTC" });
const ask = (text: string, maxOutputTokens?: number): ModelRequest => ({
  model: "",
  messages: [{ role: "user", content: [{ type: "text", text }] }],
  ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
});
const routeOf = (defaultMaxOutputTokens: number | undefined, hedge: { delayMs?: number; maxHedges: number }): ResolvedRoute =>
  withDefaults({
    alias: "r",
    targets: [
      { provider: "openai", model: "gpt-test", credential: "c", priority: 0 },
      { provider: "openai", model: "gpt-test-b", credential: "c", priority: 1 },
    ],
    hedge,
    ...(defaultMaxOutputTokens === undefined ? {} : { defaultMaxOutputTokens }),
  });

/** Reservations that record every amount asked for. */
function spying(reservations: BudgetReservations): { reservations: BudgetReservations; reserved: bigint[]; extended: bigint[] } {
  const reserved: bigint[] = [];
  const extended: bigint[] = [];
  return {
    reserved,
    extended,
    reservations: {
      ...reservations,
      reserve: (request) => (reserved.push(request.amountMicros), reservations.reserve(request)),
      extend: (reservation, more) => (extended.push(more), reservations.extend(reservation, more)),
    },
  };
}

function stageOver(route: ResolvedRoute, budget: BudgetRef, over: Partial<BudgetStageDeps> = {}) {
  const state = createMemoryState();
  const real = createBudgetReservations({ state, clock: { now: () => Date.now() } });
  const spy = spying(real);
  const stage = createBudgetStage(
    { reservations: spy.reservations, catalog: { budgetsFor: () => [budget] }, routes: { resolve: () => route }, prices, logger: createLogCapture().logger, ...over },
    { defaultMaxOutputTokens: DEFAULT_MAX },
  );
  return { state, real, spy, stage };
}

describe("budget stage: the size of the hold", () => {
  it("holds one worst-case attempt per attempt that may run at once, at the cap dispatch sends (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        fc.string({ maxLength: 200 }),
        async (requested, routeDefault, delayMs, maxHedges, streamed, text) => {
          const route = routeOf(routeDefault, delayMs === undefined ? { maxHedges } : { delayMs, maxHedges });
          const { state, spy, stage } = stageOver(route, cap(Number.MAX_SAFE_INTEGER));
          try {
            const request = ask(text, requested);
            const pipeline = stage(createScriptedPipeline(() => ({ type: "answer", text: "ok", costMicrosUsd: 1n })));
            if (streamed) {
              const stream = pipeline.chatStream({ meta: testCallMeta({ route: "r" }), request });
              for await (const _ of stream.chunks);
            } else {
              await pipeline.chat({ meta: testCallMeta({ route: "r" }), request });
            }
            await stage.drain();
            // The output cap dispatch sends: the request's own, else the route's (`withRouteCap`);
            // with neither, the stage's default.
            const sentCap = requested ?? routeDefault ?? DEFAULT_MAX;
            // A unary call on a hedging route may have the attempt and every hedge running at once;
            // a stream is never hedged.
            const concurrent = !streamed && delayMs !== undefined ? 1 + route.hedge.maxHedges : 1;
            const oneAttempt = costMicros({ ...emptyUsage(), inputTokens: estimateInputTokens(request), outputTokens: sentCap }, dearest);
            expect(spy.reserved).toEqual([oneAttempt * BigInt(concurrent)]);
          } finally {
            await state.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("never extends a stream the route caps, however much it streams (its hold covers the cap dispatch sends)", async () => {
    const { state, spy, stage } = stageOver(routeOf(5, { maxHedges: 0 }), cap(1_000_000));
    try {
      // 40 chunks of one estimated token each, far past ¾ of the 5 tokens held (the scripted
      // pipeline ignores the cap; a provider would stop at it).
      const events = Array.from({ length: 40 }, () => ({ chunk: { type: "text", text: "abcd" } as ModelChunk }));
      const stream = stage(createScriptedPipeline(() => ({ type: "stream", events, costMicrosUsd: 50n }))).chatStream({ meta: testCallMeta({ route: "r" }), request: ask("go") });
      let texts = 0;
      for await (const chunk of stream.chunks) if (chunk.type === "text") texts++;
      expect(texts).toBe(40);
      expect(spy.extended).toEqual([]);
    } finally {
      await state.close();
    }
  });
});

describe("budget stage: covering a retry", () => {
  it("asks for no more when the failed attempts were billed nothing, so a retry its hold covers goes ahead even past a cap others overran", async () => {
    const budget = cap(1000);
    const { state, real, spy, stage } = stageOver(routeOf(undefined, { maxHedges: 0 }), budget);
    try {
      let covered: boolean | undefined;
      // Another call overran the cap while this one was running.
      const inner = createScriptedPipeline(() => ({ type: "answer", text: "ok", costMicrosUsd: 5n }));
      const pipeline: ModelPipeline = {
        ...inner,
        chat: async (call) => {
          const other = await real.reserve({ tenant: "org_a", budgets: [budget], amountMicros: 0n });
          if (!other.ok) throw new Error("refused");
          await real.settle(other.reservation, 2000n);
          // The first attempt failed unbilled (a 503): the retry needs nothing beyond the hold.
          covered = await call.coverRetry!(0n);
          return inner.chat(call);
        },
      };
      await stage(pipeline).chat({ meta: testCallMeta({ route: "r" }), request: ask("hi", 10) });
      await stage.drain();
      expect(covered).toBe(true);
      expect(spy.extended).toEqual([]);
    } finally {
      await state.close();
    }
  });
});

describe("budget stage: a settle that fails", () => {
  const flaky = (failures: number) => {
    const state = createMemoryState();
    const real = createBudgetReservations({ state, clock: { now: () => Date.now() } });
    let left = failures;
    const reservations: BudgetReservations = {
      ...real,
      settle: (reservation: Reservation, actual: bigint) => (left-- > 0 ? Promise.reject(new Error("command timed out")) : real.settle(reservation, actual)),
    };
    const later: bigint[] = [];
    const recovery = { abandon: () => {}, settleLater: (_r: Reservation, actual: bigint) => void later.push(actual) };
    const stage = createBudgetStage({ reservations, catalog: { budgetsFor: () => [cap(10_000)] }, routes: { resolve: () => routeOf(undefined, { maxHedges: 0 }) }, prices, recovery, logger: createLogCapture().logger });
    const pipeline = stage(createScriptedPipeline(() => ({ type: "answer", text: "ok", costMicrosUsd: 7n })));
    return { state, real, stage, pipeline, later };
  };

  it("is retried in place twice before it is handed to recovery", async () => {
    const twice = flaky(2);
    try {
      await twice.pipeline.chat({ meta: testCallMeta({ route: "r" }), request: ask("hi", 10) });
      await twice.stage.drain();
      expect(twice.later).toEqual([]);
      expect(await twice.real.snapshot("org_a", cap(10_000))).toMatchObject({ spentMicros: 7n, reservedMicros: 0n });
    } finally {
      await twice.state.close();
    }
    const thrice = flaky(3);
    try {
      await thrice.pipeline.chat({ meta: testCallMeta({ route: "r" }), request: ask("hi", 10) });
      await thrice.stage.drain();
      expect(thrice.later).toEqual([7n]);
    } finally {
      await thrice.state.close();
    }
  });
});
