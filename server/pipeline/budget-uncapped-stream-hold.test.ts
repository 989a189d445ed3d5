/**
 * P1 for a stream nothing caps: its hold grows as it runs, and before each piece of output is
 * released it covers the output so far by the best figure there is — the provider's own count
 * when it reports one mid-stream (hidden reasoning included), else an estimate that does not take
 * CJK text at English's four characters a token. On the Redis state backend, over real dispatch.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogCapture } from "../../test/support/log-capture.js";
import { dispatcherOver } from "../dispatch/testing/harness.js";
import { createScriptedProvider, type ScriptStep, type StreamEvent } from "../dispatch/testing/scripted-provider.js";
import { withDefaults } from "../dispatch/route-types.js";
import { createAttemptCost } from "../limits/attempt-cost.js";
import { createBudgetReservations, type BudgetRef, type BudgetReservations } from "../limits/budget-reservation.js";
import { BUILTIN_PRICE_TABLE } from "../limits/builtin-prices.js";
import { TEST_PRICES } from "../limits/money-harness.testing.js";
import { createPriceBook } from "../limits/price-table.js";
import { redisStateHarnesses } from "../limits/redis-key-space.testing.js";
import { emptyUsage, type ModelRequest } from "../providers/model.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createBudgetStage } from "./budget-stage.js";
import { testCallMeta } from "./call-meta.testing.js";
import { createDispatchPipeline } from "./dispatch-pipeline.js";
import { composeStages, type ModelPipeline } from "./model-call.js";

const redis = redisStateHarnesses("budget-uncapped-stream");
let dispose: () => Promise<void>;
let state: StateBackend;
let reservations: BudgetReservations;
beforeEach(() => {
  const harness = redis();
  dispose = () => harness.dispose();
  state = harness.connect();
  reservations = createBudgetReservations({ state, clock: { now: () => Date.now() } });
});
afterEach(async () => {
  await dispose();
});

// gpt-test: 1 µ$ an input token, 10 µ$ an output token (reasoning too). "go" is 5 input tokens by
// the reservation's estimate, and the provider's reports say 5 as well. Nothing caps the output:
// the hold starts at 20 output tokens (205 µ$) and each extension adds 20 (200 µ$).
const INPUT = 5;
const costOf = (outputTokens: number) => BigInt(INPUT + 10 * outputTokens);
const cap = (limit: bigint): BudgetRef => ({ id: "orgs/acme/budgets/key-daily", level: "key", limitMicros: limit, period: "daily", tz: "UTC" });
const ask: ModelRequest = { model: "", messages: [{ role: "user", content: [{ type: "text", text: "go" }] }] };
const report = (outputTokens: number, reasoningTokens = 0): StreamEvent => ({ report: { inputTokens: INPUT, outputTokens, reasoningTokens } });

/** Budget stage over dispatch to a scripted `openai/gpt-test` that streams `events`. */
function pipelineStreaming(events: StreamEvent[], budget: BudgetRef): ModelPipeline {
  const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE, overrides: TEST_PRICES });
  const routes = new Map([["r", withDefaults({ alias: "r", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], retry: { maxAttempts: 1 } })]]);
  const resolver = { resolve: (alias: string) => routes.get(alias) };
  const step: ScriptStep = { type: "stream", events };
  const provider = createScriptedProvider({ kind: "openai", script: [step] });
  const budgetStage = createBudgetStage({ reservations, catalog: { budgetsFor: () => [budget] }, routes: resolver, prices, logger: createLogCapture().logger }, { defaultMaxOutputTokens: 20 });
  return composeStages([budgetStage], createDispatchPipeline({ dispatcher: dispatcherOver([provider]), routes: resolver, cost: createAttemptCost(prices) }));
}

/**
 * Reads the stream; at each text chunk released, what the budget holds for the call and what the
 * provider had counted of its output by then (`counted(i)` for the i-th text chunk, from 1).
 */
async function readHolds(pipeline: ModelPipeline, budget: BudgetRef, counted: (i: number) => number) {
  const stream = pipeline.chatStream({ meta: testCallMeta({ requestId: `req-${Math.random()}` }), request: ask });
  const released: { chunk: number; heldMicros: bigint; countedMicros: bigint }[] = [];
  let error: ConnectError | undefined;
  try {
    for await (const chunk of stream.chunks) {
      if (chunk.type !== "text") continue;
      const i = released.length + 1;
      const { reservedMicros } = await reservations.snapshot("org_a", budget);
      released.push({ chunk: i, heldMicros: reservedMicros, countedMicros: costOf(counted(i)) });
    }
  } catch (err) {
    error = ConnectError.from(err);
  }
  const result = await stream.result();
  await expect.poll(async () => (await reservations.snapshot("org_a", budget)).reservedMicros).toBe(0n);
  const { spentMicros } = await reservations.snapshot("org_a", budget);
  return { released, error, result, spentMicros };
}

/** The released chunks whose output, as the provider counted it, the hold did not cover. */
const uncovered = (released: { chunk: number; heldMicros: bigint; countedMicros: bigint }[]) => released.filter((r) => r.heldMicros < r.countedMicros);

const CJK = "你好世界"; // 4 characters; about one token each in today's tokenizers

describe("budget stage: an uncapped stream's hold covers its output as counted", () => {
  it("CJK text the provider counts as it streams: covered before each chunk is released, and the cap holds", async () => {
    const b = cap(1005n); // the hold and four extensions: 100 output tokens
    const events: StreamEvent[] = [{ chunk: { type: "start", model: "gpt-test" } }];
    for (let i = 1; i <= 40; i++) events.push(report(4 * i), { chunk: { type: "text", text: CJK } });
    events.push({ chunk: { type: "finish", reason: "stop" } }, { chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: INPUT, outputTokens: 160 } } });
    const { released, error, result, spentMicros } = await readHolds(pipelineStreaming(events, b), b, (i) => 4 * i);

    expect(uncovered(released)).toEqual([]);
    expect(error?.code).toBe(Code.ResourceExhausted);
    // Extended before chunks 4, 8, 12 and 15 (16, 32, 48 and 60 tokens: ¾ of 20, 40, 60, 80);
    // the fifth extension, before chunk 19 (76 tokens, ¾ of 100), is refused: 18 released.
    expect(released).toHaveLength(18);
    expect(spentMicros).toBe(result.costMicrosUsd);
    expect(spentMicros).toBe(costOf(76));
    expect(spentMicros).toBeLessThanOrEqual(b.limitMicros);
  });

  it("CJK text from a provider that reports nothing until the end: one token a character is held for", async () => {
    const b = cap(1_000_000n);
    const events: StreamEvent[] = [{ chunk: { type: "start", model: "gpt-test" } }];
    for (let i = 1; i <= 40; i++) events.push({ chunk: { type: "text", text: CJK } });
    events.push({ chunk: { type: "finish", reason: "stop" } }, { chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: INPUT, outputTokens: 160 } } });
    const { released, error, spentMicros } = await readHolds(pipelineStreaming(events, b), b, (i) => 4 * i);

    expect(error).toBeUndefined();
    expect(released).toHaveLength(40);
    expect(uncovered(released)).toEqual([]);
    expect(spentMicros).toBe(costOf(160));
  });

  it("hidden reasoning the provider reports: the hold grows by it before the first text is released, and the cap holds", async () => {
    const b = cap(1005n);
    // 60 reasoning tokens before any text, then one visible token a chunk.
    const events: StreamEvent[] = [{ chunk: { type: "start", model: "gpt-test" } }];
    for (let i = 1; i <= 40; i++) events.push(report(60 + i, 60), { chunk: { type: "text", text: "abcd" } });
    events.push({ chunk: { type: "finish", reason: "stop" } }, { chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: INPUT, outputTokens: 100, reasoningTokens: 60 } } });
    const { released, error, result, spentMicros } = await readHolds(pipelineStreaming(events, b), b, (i) => 60 + i);

    // Before the first text (61 tokens reported) the hold grows by four extensions at once, to
    // 100 tokens; the next one, before chunk 15 (75 tokens), is refused: 14 released.
    expect(released).toHaveLength(14);
    expect(released[0]!.heldMicros).toBe(1005n);
    expect(uncovered(released)).toEqual([]);
    expect(error?.code).toBe(Code.ResourceExhausted);
    expect(spentMicros).toBe(result.costMicrosUsd);
    expect(spentMicros).toBe(costOf(75));
    expect(spentMicros).toBeLessThanOrEqual(b.limitMicros);
  });

  it("reasoning past what the cap can hold: nothing is released, and only that one call's usage goes over", async () => {
    const b = cap(1005n);
    const events: StreamEvent[] = [{ chunk: { type: "start", model: "gpt-test" } }];
    for (let i = 1; i <= 40; i++) events.push(report(200 + i, 200), { chunk: { type: "text", text: "abcd" } });
    events.push({ chunk: { type: "finish", reason: "stop" } }, { chunk: { type: "usage", usage: { ...emptyUsage(), inputTokens: INPUT, outputTokens: 240, reasoningTokens: 200 } } });
    const { released, error, spentMicros } = await readHolds(pipelineStreaming(events, b), b, (i) => 200 + i);

    expect(released).toEqual([]);
    expect(error?.code).toBe(Code.ResourceExhausted);
    // What the provider had reported when the stream was stopped: 200 reasoning tokens and the
    // first visible one, generated before anything could be checked.
    expect(spentMicros).toBe(costOf(201));
    // And the next call is refused before anything is sent.
    const again = await readHolds(pipelineStreaming(events, b), b, (i) => 200 + i);
    expect(again.error?.code).toBe(Code.ResourceExhausted);
    expect(again.result.attempts).toEqual([]);
    expect(again.spentMicros).toBe(costOf(201));
  });
});
