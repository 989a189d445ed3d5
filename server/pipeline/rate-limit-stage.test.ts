import { Code, ConnectError } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { startMoneyHarness, words, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { BudgetRef } from "../limits/budget-reservation.js";
import { createRateLimiter, type RateLimitRule } from "../limits/rate-limiter.js";
import { createLogCapture } from "../../test/support/log-capture.js";
import { emptyUsage, type ModelChunk, type ModelRequest } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";
import { createScriptedPipeline } from "../verbs/testing/scripted-pipeline.js";
import type { ModelPipeline } from "./model-call.js";
import { createRateLimitStage } from "./rate-limit-stage.js";

let h: MoneyHarness;
beforeEach(async () => {
  h = await startMoneyHarness();
});
afterEach(async () => {
  await h.close();
});

const ask = (text: string, maxOutputTokens = 50): ModelRequest => ({ model: "", messages: [{ role: "user", content: [{ type: "text", text }] }], maxOutputTokens });
const outcome = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

describe("rate-limit stage", () => {
  it("admits the RPM limit, then refuses with RateLimitExceeded and a retry delay, before dispatch", async () => {
    h.rules = [{ id: "orgs/acme/rate-limits/key-rpm", level: "key", requestsPerMinute: 2 }];
    expect(await outcome(h.pipeline.chat({ meta: h.meta(), request: ask("a") }))).toBeUndefined();
    expect(await outcome(h.pipeline.chat({ meta: h.meta(), request: ask("b") }))).toBeUndefined();
    const err = await outcome(h.pipeline.chat({ meta: h.meta(), request: ask("c") }));
    expect(err?.code).toBe(Code.ResourceExhausted);
    const detail = err?.findDetails(RateLimitExceededSchema)[0];
    expect(detail).toMatchObject({ rateLimit: "orgs/acme/rate-limits/key-rpm", dimension: RateLimitDimension.REQUESTS, limit: 2n });
    expect(durationMs(detail!.retryDelay!)).toBeGreaterThan(0);
    expect(h.fake.requests()).toHaveLength(2);
  });

  it("counts tokens with the request's estimate and refuses a request larger than the TPM limit", async () => {
    h.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "team", tokensPerMinute: 100 }];
    const err = await outcome(h.pipeline.chat({ meta: h.meta(), request: ask("hello", 200) }));
    expect(err?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.TOKENS, limit: 100n });
    expect(err?.findDetails(RateLimitExceededSchema)[0]?.retryDelay).toBeUndefined();
    expect(await outcome(h.pipeline.chat({ meta: h.meta(), request: ask("hello", 20) }))).toBeUndefined();
  });

  it("applies to streams and fails closed when the state backend cannot answer", async () => {
    h.rules = [{ id: "orgs/acme/rate-limits/key-rpm", level: "key", requestsPerMinute: 100 }];
    const hits = h.state.hitWindows;
    h.state.hitWindows = () => Promise.reject(new Error("connection refused"));
    try {
      const stream = h.pipeline.chatStream({ meta: h.meta(), request: ask("a") });
      const err = await outcome((async () => {
        for await (const _ of stream.chunks);
      })());
      expect(err?.code).toBe(Code.Unavailable);
      expect(h.fake.requests()).toHaveLength(0);
    } finally {
      h.state.hitWindows = hits;
    }
  });

  it("hands a stream no limit covers through unwrapped (nothing held per open stream), and wraps one a limit covers", async () => {
    const inner = createScriptedPipeline(() => ({ type: "answer", text: "hi" }));
    const handed: ReturnType<ModelPipeline["chatStream"]>[] = [];
    const spy: ModelPipeline = { ...inner, chatStream: (c) => handed[handed.push(inner.chatStream(c)) - 1]! };
    let rules: RateLimitRule[] = [];
    const state = createMemoryState();
    const stage = createRateLimitStage({ limiter: createRateLimiter({ state }), catalog: { rateRulesFor: () => rules }, logger: createLogCapture().logger }, { dimensions: "tokens" })(spy);
    const drain = async (chunks: AsyncIterable<ModelChunk>) => {
      const out: ModelChunk[] = [];
      for await (const c of chunks) out.push(c);
      return out;
    };
    const free = stage.chatStream({ meta: h.meta(), request: ask("a") });
    expect(free.chunks).toBe(handed.at(-1)!.chunks);
    expect((await drain(free.chunks)).some((c) => c.type === "text")).toBe(true);
    // A requests-only rule has nothing for the tokens stage to count: still handed through.
    rules = [{ id: "orgs/acme/rate-limits/rpm", level: "key", requestsPerMinute: 5 }];
    expect(stage.chatStream({ meta: h.meta(), request: ask("b") }).chunks).toBe(handed.at(-1)!.chunks);
    rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 10 }];
    const limited = stage.chatStream({ meta: h.meta(), request: ask("c", 500) });
    const err = await outcome(drain(limited.chunks));
    expect(err?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.TOKENS, limit: 10n });
    await state.close();
  });

  it("takes a check started ahead of it (early) instead of checking again, whichever way it waits (unary and stream)", async () => {
    for (const waitAt of ["stage", "dispatch"] as const) {
      const state = createMemoryState();
      const rules: RateLimitRule[] = [{ id: "orgs/acme/rate-limits/rpm", level: "key", requestsPerMinute: 2 }];
      let checks = 0;
      const limiter = createRateLimiter({ state });
      const counting = { ...limiter, check: (input: Parameters<typeof limiter.check>[0]) => (checks++, limiter.check(input)) };
      const stage = createRateLimitStage({ limiter: counting, catalog: { rateRulesFor: () => rules }, logger: createLogCapture().logger }, { waitAt });
      // Dispatch waits for `admitted`, as the real one does (a refused check then fails the call).
      const scripted = createScriptedPipeline(() => ({ type: "answer", text: "hi" }));
      const dispatch: ModelPipeline = { ...scripted, chat: async (c) => (await c.admitted, scripted.chat(c)) };
      const pipeline = stage.early(() => true)(stage(dispatch));
      expect(await outcome(pipeline.chat({ meta: h.meta(), request: ask("a") }))).toBeUndefined();
      expect(await outcome((async () => { for await (const _ of pipeline.chatStream({ meta: h.meta(), request: ask("b") }).chunks); })())).toBeUndefined();
      expect(checks).toBe(2); // one per call: a second check would have found the limit of 2 used up
      expect((await outcome(pipeline.chat({ meta: h.meta(), request: ask("c") })))?.code).toBe(Code.ResourceExhausted);
      await state.close();
    }
  });
});

describe("rate-limit stage: a semantic lookup's embedding reported with the call", () => {
  it("corrects the call's tokens with its own attempts only (the lookup's embed call was counted as its own call, inside the cache)", async () => {
    const state = createMemoryState();
    const limiter = createRateLimiter({ state });
    const corrected: number[] = [];
    const spying = { ...limiter, correctTokens: (ticket: Parameters<typeof limiter.correctTokens>[0], used: number) => (corrected.push(used), limiter.correctTokens(ticket, used)) };
    const rules: RateLimitRule[] = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 1_000_000 }];
    const scripted = createScriptedPipeline(() => ({ type: "answer", text: "hi", usage: { inputTokens: 30, outputTokens: 4 } }));
    // What the cache stage hands out on a refresh (the split's requests stage then counts both dimensions).
    const lookup = { index: 1, targetIndex: 0, provider: "p", model: "e", outcome: "success" as const, latencyMs: 1, usage: { ...emptyUsage(), inputTokens: 900 }, hedged: false, semanticLookup: true as const };
    const withLookup: ModelPipeline = { ...scripted, chat: async (c) => { const r = await scripted.chat(c); return { ...r, attempts: [lookup, ...r.attempts.map((a) => ({ ...a, index: a.index + 1 }))] }; } };
    const stage = createRateLimitStage({ limiter: spying, catalog: { rateRulesFor: () => rules }, logger: createLogCapture().logger })(withLookup);
    await stage.chat({ meta: h.meta(), request: ask("a") });
    expect(corrected).toEqual([34]);
    await state.close();
  });
});

describe("rate-limit stage checking alongside the stages inside (waitAt: dispatch)", () => {
  let g: MoneyHarness;
  beforeEach(async () => {
    g = await startMoneyHarness({}, createMemoryState(), { dimensions: "tokens", waitAt: "dispatch" });
  });
  afterEach(async () => {
    await g.close();
  });
  const budget = (limit: number): BudgetRef => ({ id: "orgs/acme/budgets/key-daily", level: "key", limitMicros: BigInt(limit), period: "daily", tz: "UTC" });
  const held = (b: BudgetRef) => g.reservations.snapshot("org_a", b);
  /** Holds every rate-limit check until `release()`; counts the budget reservations made meanwhile. */
  const slowCheck = () => {
    const hits = g.state.hitWindows.bind(g.state);
    const reserve = g.state.reserveHold.bind(g.state);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const seen = { checks: 0, reservesBeforeVerdict: 0, verdict: false };
    g.state.hitWindows = async (...args) => {
      seen.checks++;
      await released;
      const out = await hits(...args);
      seen.verdict = true;
      return out;
    };
    g.state.reserveHold = (...args) => {
      if (!seen.verdict) seen.reservesBeforeVerdict++;
      return reserve(...args);
    };
    return { seen, release };
  };
  const drain = async (chunks: AsyncIterable<ModelChunk>) => {
    for await (const _ of chunks);
  };

  it("reserves the budget while the check is in flight, and dispatches only once the check admits", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 10_000 }];
    const b = budget(1_000_000);
    g.budgets = [b];
    const { seen, release } = slowCheck();
    const call = g.pipeline.chat({ meta: g.meta(), request: ask("hello", 20) });
    await expect.poll(() => seen.reservesBeforeVerdict).toBe(1);
    expect(seen.checks).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(g.fake.requests()).toHaveLength(0); // held at dispatch
    release();
    expect(await outcome(call)).toBeUndefined();
    expect(g.fake.requests()).toHaveLength(1);
    await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
    expect(g.ledger).toHaveLength(1);
  });

  it("refuses with its own error, sends nothing, records nothing and gives the reservation made meanwhile back (unary and stream)", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 100 }];
    const b = budget(1_000_000);
    g.budgets = [b];
    for (const run of [() => g.pipeline.chat({ meta: g.meta(), request: ask("hello", 200) }), () => drain(g.pipeline.chatStream({ meta: g.meta(), request: ask("hello", 200) }).chunks)]) {
      const { seen, release } = slowCheck();
      const call = run();
      await expect.poll(() => seen.reservesBeforeVerdict).toBe(1);
      release();
      const err = await outcome(call);
      expect(err?.code).toBe(Code.ResourceExhausted);
      expect(err?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.TOKENS, limit: 100n });
      await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
      expect(await held(b)).toMatchObject({ spentMicros: 0n });
    }
    expect(g.fake.requests()).toHaveLength(0);
    expect(g.ledger).toHaveLength(0);
  });

  it("checks embeddings alongside too: admitted ones are sent once admitted, refused ones give their reservation back", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 100 }];
    const b = budget(1_000_000);
    g.budgets = [b];
    const { seen, release } = slowCheck();
    const small = g.pipeline.embed({ meta: g.meta({ verb: "embed" }), request: { model: "", inputs: ["alpha"] } });
    await expect.poll(() => seen.reservesBeforeVerdict).toBe(1);
    expect(g.fake.requests()).toHaveLength(0);
    release();
    expect(await outcome(small)).toBeUndefined();
    expect(g.fake.requests()).toHaveLength(1);
    const large = await outcome(g.pipeline.embed({ meta: g.meta({ verb: "embed" }), request: { model: "", inputs: [words(400)] } }));
    expect(large?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.TOKENS });
    await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
    expect(g.fake.requests()).toHaveLength(1);
  });

  it("when the budget refuses too, reports the rate limit, as when it was checked first; a budget refusal alone stays the budget's", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 100 }];
    g.budgets = [budget(1)];
    const both = await outcome(g.pipeline.chat({ meta: g.meta(), request: ask("hello", 200) }));
    expect(both?.findDetails(RateLimitExceededSchema)).toHaveLength(1);
    const budgetOnly = await outcome(g.pipeline.chat({ meta: g.meta(), request: ask("hello", 20) }));
    expect(budgetOnly?.code).toBe(Code.ResourceExhausted);
    expect(budgetOnly?.findDetails(RateLimitExceededSchema)).toHaveLength(0);
    expect(budgetOnly?.rawMessage).toMatch(/budget/i);
    expect(g.fake.requests()).toHaveLength(0);
  });

  it("fails closed when the check cannot be answered: Unavailable, nothing sent, the reservation given back", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 10_000 }];
    const b = budget(1_000_000);
    g.budgets = [b];
    g.state.hitWindows = () => Promise.reject(new Error("connection refused"));
    const err = await outcome(g.pipeline.chat({ meta: g.meta(), request: ask("hello", 20) }));
    expect(err?.code).toBe(Code.Unavailable);
    await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
    expect(g.fake.requests()).toHaveLength(0);
    expect(g.ledger).toHaveLength(0);
  });
});
