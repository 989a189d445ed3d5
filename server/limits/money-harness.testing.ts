import { createLogCapture } from "../../test/support/log-capture.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { createDispatcher } from "../dispatch/dispatcher.js";
import { withDefaults, type ResolvedRoute, type RouteInput } from "../dispatch/route-types.js";
import { createBudgetStage, type BudgetStageOptions } from "../pipeline/budget-stage.js";
import { createDispatchPipeline } from "../pipeline/dispatch-pipeline.js";
import { behindAFrontDoor } from "../pipeline/front-door.testing.js";
import { composeStages, type CallMeta, type ModelPipeline, type ModelStreamResult, type Stage, UNSENT_STREAM_RESULT } from "../pipeline/model-call.js";
import { createRateLimitStage, createSplitRateLimitStages, type RateLimitStageOptions } from "../pipeline/rate-limit-stage.js";
import { createUsageStage } from "../pipeline/usage-stage.js";
import { createHttpClient } from "../providers/http/http-client.js";
import { createOpenAIProvider } from "../providers/openai.js";
import { emptyUsage } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import type { UsageRecordRow } from "../store/usage-store.js";
import { createAttemptCost } from "./attempt-cost.js";
import { BUILTIN_PRICE_TABLE } from "./builtin-prices.js";
import { createBudgetReservations, type BudgetRef, type BudgetReservations } from "./budget-reservation.js";
import { createPriceBook, type PriceBook } from "./price-table.js";
import { createRateLimiter, type RateLimitRule } from "./rate-limiter.js";
import { testCallMeta } from "../pipeline/call-meta.testing.js";

/** 1 µ$ per input token, 10 µ$ per output token on `openai/gpt-test*`: costs checkable by hand. */
export const TEST_PRICES = {
  version: "test-prices-1",
  rows: [
    { provider: "openai", model: "gpt-test", effectiveFrom: "2020-01-01", input: 1_000_000, output: 10_000_000 },
    { provider: "openai", model: "gpt-test-b", effectiveFrom: "2020-01-01", input: 1_000_000, output: 20_000_000 },
  ],
};

/**
 * The rate-limit → budget → usage stages over real dispatch to the OpenAI fake, on in-process state;
 * `pipeline` answers as a front door does, on a later turn (`behindAFrontDoor`).
 */
export interface MoneyHarness {
  fake: FakeProvider;
  pipeline: ModelPipeline;
  state: StateBackend;
  reservations: BudgetReservations;
  prices: PriceBook;
  /** Budgets and rate limits every caller gets; change them between calls. */
  budgets: BudgetRef[];
  rules: RateLimitRule[];
  /** Routes by alias; `r` (gpt-test) and `two` (gpt-test → gpt-test-b) exist. */
  routes: Map<string, ResolvedRoute>;
  /** What the usage stage buffered. */
  ledger: UsageRecordRow[];
  /** Set false to make the ledger report no capacity. */
  capacity: boolean;
  cost(provider: string, model: string, usage: Parameters<ReturnType<typeof createAttemptCost>>[2]): bigint;
  meta(over?: Partial<CallMeta>): CallMeta;
  /**
   * With `rateLimit: "split"`: whether the cache may answer a call (default true), and what the
   * stage standing where the cache and input guardrails stand saw and does (`refuse`: throws it,
   * as a guardrail's block).
   */
  cacheMayAnswer: boolean;
  /** With `rateLimit: "split"` and `cacheMayAnswer`: start tokens and reservation ahead, as for a route that mostly misses. */
  speculate: boolean;
  /** `answer`: answers every call that reaches it, as a cache hit would (cost 0, nothing sent). */
  between: { reached: number; refuse?: Error; answer?: boolean };
  close(): Promise<void>;
}

/**
 * The stage between the rate-limit stages in "split" mode, where the gateway has its input
 * guardrails and cache: counts the calls that reach it, and refuses them when told to.
 */
function betweenStage(h: MoneyHarness): Stage {
  const pass = <T>(run: () => T): T => {
    h.between.reached++;
    if (h.between.refuse !== undefined) throw h.between.refuse;
    return run();
  };
  const hit = { provider: "cache", model: "gpt-test", attempts: [], costMicrosUsd: 0n, cacheStatus: "hit_exact" as const };
  const usage = emptyUsage();
  return (next) => ({
    chat: async (call) => pass(() => (h.between.answer ? Promise.resolve({ ...hit, response: { text: "cached", toolCalls: [], finishReason: "stop" as const, usage, model: "gpt-test" } }) : next.chat(call))),
    embed: async (call) => pass(() => (h.between.answer ? Promise.resolve({ ...hit, response: { vectors: [[1]], usage, model: "gpt-test" } }) : next.embed(call))),
    chatStream(call) {
      if (h.between.answer) {
        return pass(() => ({
          chunks: (async function* () {
            yield { type: "text" as const, text: "cached" };
            yield { type: "finish" as const, reason: "stop" as const };
          })(),
          result: async () => hit,
        }));
      }
      let resolve!: (r: ModelStreamResult) => void;
      const result = new Promise<ModelStreamResult>((r) => (resolve = r));
      return {
        chunks: (async function* () {
          let inner;
          try {
            inner = pass(() => next.chatStream(call));
          } catch (err) {
            resolve(UNSENT_STREAM_RESULT);
            throw err;
          }
          try {
            yield* inner.chunks;
          } finally {
            resolve(await inner.result());
          }
        })(),
        result: () => result,
      };
    },
  });
}

/**
 * Starts a {@link MoneyHarness}. `rateLimit: "split"` composes the gateway's order instead of one
 * rate-limit stage: the budget's early start, requests per minute, a stage standing for input
 * guardrails and the cache (`between`), tokens per minute, the budget.
 */
export async function startMoneyHarness(opts: BudgetStageOptions = {}, state: StateBackend = createMemoryState(), rateLimit: RateLimitStageOptions | "split" = {}): Promise<MoneyHarness> {
  const fake = await startOpenAIFake();
  const http = createHttpClient();
  const provider = createOpenAIProvider({ baseUrl: `${fake.url}/v1`, http });
  const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE, overrides: TEST_PRICES });
  const cost = createAttemptCost(prices);
  const routes = new Map<string, ResolvedRoute>();
  const add = (input: RouteInput) => routes.set(input.alias, withDefaults(input));
  add({ alias: "r", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], retry: { maxAttempts: 1 } });
  add({
    alias: "two",
    targets: [
      { provider: "openai", model: "gpt-test", credential: "c", priority: 0 },
      { provider: "openai", model: "gpt-test-b", credential: "c", priority: 1 },
    ],
    retry: { maxAttempts: 1 },
  });
  const resolver = { resolve: (alias: string) => routes.get(alias) };
  const logger = createLogCapture().logger;
  const reservations = createBudgetReservations({ state, clock: { now: () => Date.now() } });
  const h: MoneyHarness = {
    fake,
    pipeline: undefined as unknown as ModelPipeline,
    state,
    reservations,
    prices,
    budgets: [],
    rules: [],
    routes,
    ledger: [],
    capacity: true,
    cost,
    meta: (over = {}) => testCallMeta({ requestId: `req-${Math.random().toString(36).slice(2)}`, signal: AbortSignal.timeout(10_000), ...over }),
    cacheMayAnswer: true,
    speculate: false,
    between: { reached: 0 },
    async close() {
      await fake.close();
      await http.close();
      await state.close();
    },
  };
  const catalog = { budgetsFor: () => h.budgets, rateRulesFor: () => h.rules };
  const limitDeps = { limiter: createRateLimiter({ state }), catalog, routes: resolver, logger };
  const budget = createBudgetStage({ reservations, catalog, routes: resolver, prices, logger }, opts);
  let limited: Stage[];
  if (rateLimit === "split") {
    const split = createSplitRateLimitStages(limitDeps, { mayAnswerBetween: () => h.cacheMayAnswer });
    const probablyMisses = () => h.cacheMayAnswer && h.speculate;
    limited = [budget.early(() => !h.cacheMayAnswer || probablyMisses()), split.tokens.early(probablyMisses), split.requests, betweenStage(h), split.tokens, budget];
  } else {
    limited = [createRateLimitStage(limitDeps, rateLimit), budget];
  }
  h.pipeline = behindAFrontDoor(composeStages(
    [
      ...limited,
      createUsageStage({
        ledger: { append: async (rows) => void h.ledger.push(...rows), hasCapacity: () => h.capacity, retryDelayMs: () => 200 },
        cost,
        priceVersion: (p, m, at) => prices.priceAt(p, m, at)?.version ?? "unpriced",
        logger,
      }),
    ],
    createDispatchPipeline({
      dispatcher: createDispatcher({ provider: (kind) => (kind === "openai" ? provider : undefined), credential: async () => "sk-test" }),
      routes: resolver,
      cost,
    }),
  ));
  return h;
}

/** A user message of `words` words. */
export function words(n: number, word = "alpha"): string {
  return Array.from({ length: n }, (_, i) => `${word}${i}`).join(" ");
}
