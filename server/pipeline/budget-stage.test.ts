import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BudgetExceededSchema, BudgetLevel } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { withDefaults } from "../dispatch/route-types.js";
import { createBudgetReservations, type BudgetRef } from "../limits/budget-reservation.js";
import { createMemoryState } from "../store/state/memory-state.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { startMoneyHarness, words, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelChunk, ModelRequest } from "../providers/model.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { createScriptedPipeline } from "../verbs/testing/scripted-pipeline.js";
import { laterTurn } from "../runtime/after-this-turn.testing.js";
import { openAIErrorOf } from "../openai/error-mapping.js";
import { createBudgetStage } from "./budget-stage.js";
import { createReservationRecovery } from "../limits/reservation-recovery.js";
import { StateBackendUnavailableError } from "../store/state/breaker-state.js";
import type { ModelPipeline } from "./model-call.js";

let h: MoneyHarness;
beforeEach(async () => {
  h = await startMoneyHarness({ defaultMaxOutputTokens: 20 });
});
afterEach(async () => {
  await h.close();
});

const ask = (text: string, maxOutputTokens?: number): ModelRequest => ({
  model: "",
  messages: [{ role: "user", content: [{ type: "text", text }] }],
  ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
});
const cap = (limit: number, id = "orgs/acme/budgets/key-daily"): BudgetRef => ({ id, level: "key", limitMicros: BigInt(limit), period: "daily", tz: "UTC" });
const counters = (b: BudgetRef) => h.reservations.snapshot("org_a", b);
const codeOf = (err: unknown) => ConnectError.from(err).code;
/** The ConnectError a call fails with (a success fails the test). */
const failure = (call: Promise<unknown>): Promise<ConnectError> =>
  call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => ConnectError.from(e),
  );

describe("budget stage", () => {
  it("holds the worst case while the call runs, then books the actual cost and gives back the rest", async () => {
    const b = cap(10_000);
    h.budgets = [b];
    h.fake.script({ reply: { text: "one two three", usage: { input: 5, output: 3 } }, delayMs: 150 });
    // "hello there": 11 characters → 3 tokens + 4 of framing = 7 input tokens; 20 output tokens.
    const call = h.pipeline.chat({ meta: h.meta(), request: ask("hello there", 20) });
    await expect.poll(async () => (await counters(b)).reservedMicros).toBe(7n + 20n * 10n);
    const result = await call;
    expect(result.costMicrosUsd).toBe(5n + 3n * 10n);
    expect(await counters(b)).toMatchObject({ spentMicros: 35n, reservedMicros: 0n });
    expect(h.ledger.map((r) => r.costMicros)).toEqual([35n]);
  });

  it("refuses before anything is sent when a level would go over, naming it in BudgetExceeded", async () => {
    h.budgets = [cap(1_000_000, "orgs/acme/budgets/org"), cap(100)];
    const err = await failure(h.pipeline.chat({ meta: h.meta(), request: ask("hello there", 20) }));
    expect(err.code).toBe(Code.ResourceExhausted);
    const detail = err.findDetails(BudgetExceededSchema)[0];
    expect(detail).toMatchObject({ level: BudgetLevel.KEY, budget: "orgs/acme/budgets/key-daily", limitMicrosUsd: 100n, requestedMicrosUsd: 207n });
    expect(h.fake.requests()).toHaveLength(0);
    expect(h.ledger).toHaveLength(0);
    expect((await counters(cap(1, "orgs/acme/budgets/org"))).reservedMicros).toBe(0n);
  });

  it("prices the reservation at the dearest target a fallback may reach, and bills every attempt", async () => {
    const b = cap(10_000);
    h.budgets = [b];
    h.fake.script({ fault: { kind: "status", status: 503 } }, { reply: { text: "rescued", usage: { input: 4, output: 2 } }, delayMs: 100 });
    const call = h.pipeline.chat({ meta: h.meta({ route: "two" }), request: ask("hello there", 20) });
    // gpt-test-b bills 20 µ$ an output token: 7 + 20 × 20.
    await expect.poll(async () => (await counters(b)).reservedMicros).toBe(407n);
    const result = await call;
    expect(result.attempts.map((a) => a.outcome)).toEqual(["unavailable", "success"]);
    expect(await counters(b)).toMatchObject({ spentMicros: 4n + 2n * 20n, reservedMicros: 0n });
    expect(h.ledger.map((r) => [r.attempt, r.outcome, r.costMicros])).toEqual([
      [1, "unavailable", 0n],
      [2, "success", 44n],
    ]);
  });

  it("settles a failed call with what its attempts cost, and releases a call that sent nothing", async () => {
    const b = cap(10_000);
    h.budgets = [b];
    h.fake.script({ fault: { kind: "status", status: 503 } }, { fault: { kind: "status", status: 500 } });
    expect(codeOf(await h.pipeline.chat({ meta: h.meta({ route: "two" }), request: ask("hi", 20) }).catch((e: unknown) => e))).toBe(Code.Unavailable);
    expect(await counters(b)).toMatchObject({ spentMicros: 0n, reservedMicros: 0n });
    expect(h.ledger.map((r) => r.outcome)).toEqual(["unavailable", "unavailable"]);
    h.capacity = false; // the usage stage sheds: nothing is sent, the whole hold comes back
    expect(codeOf(await h.pipeline.chat({ meta: h.meta(), request: ask("hi", 20) }).catch((e: unknown) => e))).toBe(Code.Unavailable);
    expect(await counters(b)).toMatchObject({ spentMicros: 0n, reservedMicros: 0n });
    expect(h.fake.requests()).toHaveLength(2);
  });

  it("applies the route's default output cap when the request sets none, and reserves on it", async () => {
    const b = cap(10_000);
    h.budgets = [b];
    h.routes.set("capped", withDefaults({ alias: "capped", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], defaultMaxOutputTokens: 5 }));
    h.fake.script({ reply: { text: words(30) }, delayMs: 100 });
    const call = h.pipeline.chat({ meta: h.meta({ route: "capped" }), request: ask("hello there") });
    await expect.poll(async () => (await counters(b)).reservedMicros).toBe(7n + 5n * 10n);
    await call;
    expect((h.fake.requests()[0]!.body as { max_tokens?: number; max_completion_tokens?: number }).max_completion_tokens ?? (h.fake.requests()[0]!.body as { max_tokens?: number }).max_tokens).toBe(5);
  });

  it("admits calls under a cap above 2^53 µ$ (CreateBudget takes any positive int64, e.g. its maximum as no cap)", async () => {
    const b: BudgetRef = { ...cap(1), limitMicros: 9_223_372_036_854_775_807n };
    h.budgets = [b];
    h.fake.script({ reply: { text: "ok", usage: { input: 7, output: 2 } } });
    const result = await h.pipeline.chat({ meta: h.meta(), request: ask("hello there", 20) });
    await expect.poll(async () => (await counters(b)).reservedMicros).toBe(0n);
    expect((await counters(b)).spentMicros).toBe(result.costMicrosUsd);
  });

  it("refuses a call under a cap whose route reaches an unpriced model; without a cap it passes", async () => {
    h.routes.set("mystery", withDefaults({ alias: "mystery", targets: [{ provider: "openai", model: "mystery-model", credential: "c" }] }));
    h.budgets = [cap(10_000)];
    const err = await failure(h.pipeline.chat({ meta: h.meta({ route: "mystery" }), request: ask("hi", 5) }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("mystery-model");
    // The gateway's price table, not the caller's request, is at fault: on the OpenAI surface a
    // 500 no SDK retries (a retry cannot add the price), not a 400.
    expect(openAIErrorOf(err, 0)).toMatchObject({ status: 500, headers: { "x-should-retry": "false" }, body: { error: { type: "server_error", code: "model_unpriced" } } });
    h.budgets = [];
    await h.pipeline.chat({ meta: h.meta({ route: "mystery" }), request: ask("hi", 5) });
    expect(h.fake.requests()).toHaveLength(1);
  });

  it("extends an uncapped stream's hold as it runs and ends it with a budget error when a cap refuses", async () => {
    // Hold: 5 input + 20 output tokens = 205 µ$; each extension 20 tokens = 200 µ$; cap fits one.
    const b = cap(505);
    h.budgets = [b];
    h.fake.script({ reply: { text: words(200) }, fault: { kind: "slow_drip", delayMs: 3 } });
    const stream = h.pipeline.chatStream({ meta: h.meta(), request: ask("go") });
    const seen: ModelChunk[] = [];
    const err = await (async () => {
      for await (const chunk of stream.chunks) seen.push(chunk);
    })().catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).findDetails(BudgetExceededSchema)[0]?.limitMicrosUsd).toBe(505n);
    expect(seen.some((c) => c.type === "text")).toBe(true);
    const result = await stream.result();
    expect(result.costMicrosUsd).toBeGreaterThan(0n);
    const after = await counters(b);
    expect(after).toMatchObject({ spentMicros: result.costMicrosUsd, reservedMicros: 0n });
    expect(after.spentMicros).toBeLessThanOrEqual(505n);
    expect(h.ledger.map((r) => r.costMicros)).toEqual([result.costMicrosUsd]);
    await expect.poll(() => h.fake.requests()[0]?.abortedAt).toBeDefined();
  });

  it("extends an uncapped stream each time its output reaches three quarters of the hold, by the dearest output rate", async () => {
    // Output billed 10 µ$ a token, reasoning 30: a reasoning model's hidden tokens are output too.
    const price = { input: 1_000_000, output: 10_000_000, cachedInput: 1_000_000, cacheWriteInput: 1_000_000, reasoning: 30_000_000 };
    const prices = { version: "p", priceAt: () => ({ price, version: "p", model: "gpt-test", effectiveFrom: new Date(0) }) };
    const b = cap(1_000_000);
    let yielded = 0;
    const extensions: { afterTokens: number; micros: bigint }[] = [];
    const reservations = { ...h.reservations, extend: (r: Parameters<typeof h.reservations.extend>[0], more: bigint) => (extensions.push({ afterTokens: yielded, micros: more }), h.reservations.extend(r, more)) };
    const stage = createBudgetStage({ reservations, catalog: { budgetsFor: () => [b] }, routes: { resolve: (a: string) => h.routes.get(a) }, prices, logger: createLogCapture().logger }, { defaultMaxOutputTokens: 20 });
    // 40 chunks of 4 characters: one estimated output token each.
    const events = Array.from({ length: 40 }, () => ({ chunk: { type: "text", text: "abcd" } as ModelChunk }));
    const stream = stage(createScriptedPipeline(() => ({ type: "stream", events, costMicrosUsd: 400n }))).chatStream({ meta: h.meta(), request: ask("go") });
    for await (const chunk of stream.chunks) if (chunk.type === "text") yielded++;
    expect(yielded).toBe(40);
    // Held 20 tokens: extended by 20 (× 30 µ$) before the chunk that brings the output to 15
    // tokens (¾ of 20) is released, then before the one that brings it to 30 (¾ of 40); 45 is never reached.
    expect(extensions).toEqual([
      { afterTokens: 14, micros: 600n },
      { afterTokens: 29, micros: 600n },
    ]);
    await laterTurn();
    await expect.poll(async () => counters(b)).toMatchObject({ spentMicros: 400n, reservedMicros: 0n });
  });

  it("looks for alert thresholds after a settle that booked spend, not after a release", async () => {
    const b = cap(10_000);
    const told: bigint[] = [];
    const alerts = { afterSettle: (_r: unknown, settled?: readonly { spentMicros: bigint }[]) => void told.push(settled?.[0]?.spentMicros ?? -1n) };
    const stage = createBudgetStage({ reservations: h.reservations, catalog: { budgetsFor: () => [b] }, routes: { resolve: (a: string) => h.routes.get(a) }, prices: h.prices, alerts, logger: createLogCapture().logger });
    const pipeline = stage(createScriptedPipeline([{ type: "answer", text: "hi", costMicrosUsd: 7n }, { type: "answer", text: "free", costMicrosUsd: 0n }]));
    await pipeline.chat({ meta: h.meta(), request: ask("a", 10) });
    await pipeline.chat({ meta: h.meta(), request: ask("b", 10) }); // cost 0: a release
    await stage.drain();
    expect(told).toEqual([7n]);
    expect(await counters(b)).toMatchObject({ spentMicros: 7n, reservedMicros: 0n });
  });

  it("settles a stream the client abandons mid-way with what was generated, exactly once", async () => {
    const b = cap(1_000_000);
    h.budgets = [b];
    h.fake.script({ reply: { text: words(100) }, fault: { kind: "slow_drip", delayMs: 2 } });
    const stream = h.pipeline.chatStream({ meta: h.meta(), request: ask("go", 500) });
    let n = 0;
    for await (const chunk of stream.chunks) if (chunk.type === "text" && ++n === 3) break;
    const result = await stream.result();
    expect(result.attempts).toHaveLength(1);
    expect(await counters(b)).toMatchObject({ spentMicros: result.costMicrosUsd, reservedMicros: 0n });
    expect(h.ledger).toHaveLength(1);
    expect(h.ledger[0]!.costMicros).toBe(result.costMicrosUsd);
  });

  it("fails closed when the state backend cannot answer", async () => {
    h.budgets = [cap(10_000)];
    const broken = h.state.reserveHold;
    h.state.reserveHold = () => Promise.reject(new Error("connection refused"));
    try {
      expect(codeOf(await h.pipeline.chat({ meta: h.meta(), request: ask("hi", 5) }).catch((e: unknown) => e))).toBe(Code.Unavailable);
      expect(h.fake.requests()).toHaveLength(0);
    } finally {
      h.state.reserveHold = broken;
    }
  });

  it("recovers a reserve whose outcome is unknown, and not one the state breaker refused before it left", async () => {
    const b = cap(10_000);
    const recovery = createReservationRecovery({ state: h.state, reservations: h.reservations, logger: createLogCapture().logger }, { delaysMs: [60_000] });
    const stage = createBudgetStage({ reservations: h.reservations, catalog: { budgetsFor: () => [b] }, routes: { resolve: (a: string) => h.routes.get(a) }, prices: h.prices, recovery, logger: createLogCapture().logger });
    const pipeline = stage(createScriptedPipeline(() => ({ type: "answer", text: "hi", costMicrosUsd: 7n })));
    const working = h.state.reserveHold;
    try {
      h.state.reserveHold = () => Promise.reject(new StateBackendUnavailableError("reserveHold", 500));
      expect(codeOf(await pipeline.chat({ meta: h.meta(), request: ask("hi", 5) }).catch((e: unknown) => e))).toBe(Code.Unavailable);
      expect(recovery.pending()).toBe(0);
      h.state.reserveHold = () => Promise.reject(new Error("command timed out"));
      expect(codeOf(await pipeline.chat({ meta: h.meta(), request: ask("hi", 5) }).catch((e: unknown) => e))).toBe(Code.Unavailable);
      expect(recovery.pending()).toBe(1);
    } finally {
      h.state.reserveHold = working;
    }
  });

  it("answers before the settle starts, settles on the answer's turn without waiting for the reply, and drain() waits for it", async () => {
    const memory = createMemoryState();
    let acknowledge!: () => void;
    const acknowledged = new Promise<void>((resolve) => (acknowledge = resolve));
    let settles = 0;
    // Settles are applied at once but acknowledged only when the test says so.
    const slowAck: StateBackend = Object.assign(Object.create(memory) as StateBackend, {
      settleHold: async (...args: Parameters<StateBackend["settleHold"]>) => {
        settles++;
        const settled = await memory.settleHold(...args);
        await acknowledged;
        return settled;
      },
    });
    const reservations = createBudgetReservations({ state: slowAck, clock: { now: () => Date.now() } });
    const b = cap(10_000);
    const stage = createBudgetStage({ reservations, catalog: { budgetsFor: () => [b] }, routes: { resolve: (a: string) => h.routes.get(a) }, prices: h.prices, logger: createLogCapture().logger });
    const pipeline = stage(createScriptedPipeline(() => ({ type: "answer", text: "hi", costMicrosUsd: 7n })));
    const result = await pipeline.chat({ meta: h.meta(), request: ask("a", 10) });
    expect(result.costMicrosUsd).toBe(7n);
    // The answer is out before the settle starts; drain() waits for the settle from the moment it
    // is owed.
    expect(settles).toBe(0);
    let drained = false;
    const draining = stage.drain().then(() => (drained = true));
    // By the end of the answer's turn (before a later turn could read the caller's next request)
    // the settle is sent and applied; its reply is still held back.
    await laterTurn();
    expect(settles).toBe(1);
    expect(await reservations.snapshot("org_a", b)).toMatchObject({ spentMicros: 7n, reservedMicros: 0n });
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    acknowledge();
    await draining;
    expect(drained).toBe(true);
    await memory.close();
  });

  it("hands a stream no budget covers through unwrapped (nothing held per open stream), and wraps one a budget covers", async () => {
    const inner = createScriptedPipeline(() => ({ type: "answer", text: "hi", costMicrosUsd: 7n }));
    const handed: ReturnType<ModelPipeline["chatStream"]>[] = [];
    const spy: ModelPipeline = { ...inner, chatStream: (c) => handed[handed.push(inner.chatStream(c)) - 1]! };
    let budgets: BudgetRef[] = [];
    const catalog = { budgetsFor: () => budgets };
    const stage = createBudgetStage({ reservations: h.reservations, catalog, routes: { resolve: (a: string) => h.routes.get(a) }, prices: h.prices, logger: createLogCapture().logger })(spy);
    const drain = async (chunks: AsyncIterable<ModelChunk>) => {
      const out: ModelChunk[] = [];
      for await (const c of chunks) out.push(c);
      return out;
    };
    const free = stage.chatStream({ meta: h.meta(), request: ask("a", 10) });
    expect(free.chunks).toBe(handed.at(-1)!.chunks);
    expect((await drain(free.chunks)).some((c) => c.type === "text")).toBe(true);
    expect((await free.result()).costMicrosUsd).toBe(7n);
    const b = cap(10_000);
    budgets = [b];
    const capped = stage.chatStream({ meta: h.meta(), request: ask("b", 10) });
    expect((await drain(capped.chunks)).some((c) => c.type === "text")).toBe(true);
    expect(capped.chunks).not.toBe(handed.at(-1)!.chunks);
    await laterTurn(); // the stream's end reaches its caller (the settle starts after it)
    expect(await counters(b)).toMatchObject({ spentMicros: 7n, reservedMicros: 0n });
  });
});
