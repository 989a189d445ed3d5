import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BudgetExceededSchema, RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { withDefaults } from "../dispatch/route-types.js";
import type { BudgetRef } from "../limits/budget-reservation.js";
import { startMoneyHarness, words, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelChunk, ModelRequest } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";

// The gateway's order of the money stages around the cache (server.ts): the budget's early start,
// requests per minute, [input guardrails, cache], tokens per minute, the budget. A call the cache
// cannot answer needs one round trip of shared state before it is sent; one it may answer, two.

let g: MoneyHarness;
beforeEach(async () => {
  g = await startMoneyHarness({}, createMemoryState(), "split");
});
afterEach(async () => {
  await g.close();
});

const ask = (text: string, maxOutputTokens?: number): ModelRequest => ({
  model: "",
  messages: [{ role: "user", content: [{ type: "text", text }] }],
  ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
});
const budget = (limit: number): BudgetRef => ({ id: "orgs/acme/budgets/key-daily", level: "key", limitMicros: BigInt(limit), period: "daily", tz: "UTC" });
const held = (b: BudgetRef) => g.reservations.snapshot("org_a", b);
const outcome = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
const drain = async (chunks: AsyncIterable<ModelChunk>) => {
  for await (const _ of chunks);
};
type Kind = "chat" | "stream" | "embed";
const run = (kind: Kind, maxOutputTokens = 20): Promise<unknown> =>
  kind === "chat"
    ? g.pipeline.chat({ meta: g.meta(), request: ask("hello", maxOutputTokens) })
    : kind === "stream"
      ? drain(g.pipeline.chatStream({ meta: g.meta(), request: ask("hello", maxOutputTokens) }).chunks)
      : g.pipeline.embed({ meta: g.meta({ verb: "embed" }), request: { model: "", inputs: ["hello"] } });

/** Holds every rate-limit check until `release()`; counts checks and reservations, and the reservations made before a verdict. */
function slowChecks() {
  const hits = g.state.hitWindows.bind(g.state);
  const reserve = g.state.reserveHold.bind(g.state);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const seen = { checks: 0, reserves: 0, reservesBeforeVerdict: 0, verdicts: 0 };
  g.state.hitWindows = async (...args) => {
    seen.checks++;
    await released;
    const out = await hits(...args);
    seen.verdicts++;
    return out;
  };
  g.state.reserveHold = (...args) => {
    seen.reserves++;
    if (seen.verdicts === 0) seen.reservesBeforeVerdict++;
    return reserve(...args);
  };
  return { seen, release };
}

describe("money stages around the cache", () => {
  it("a call the cache cannot answer: one check for both limits, and the reservation leaves before its verdict (one round trip)", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/key", level: "key", requestsPerMinute: 100, tokensPerMinute: 10_000 }];
    const b = budget(1_000_000);
    g.budgets = [b];
    for (const kind of ["chat", "stream", "embed"] as const) {
      g.cacheMayAnswer = false;
      const { seen, release } = slowChecks();
      const call = run(kind);
      await expect.poll(() => seen.reservesBeforeVerdict).toBe(1);
      expect(seen.checks).toBe(1);
      expect(g.between.reached).toBe(0); // the requests check still comes first
      release();
      expect(await outcome(call)).toBeUndefined();
      expect(seen).toMatchObject({ checks: 1, reserves: 1 });
      await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
      g.between.reached = 0;
    }
    expect(g.fake.requests()).toHaveLength(3);
    expect(g.ledger).toHaveLength(3);
  });

  it("a call the cache may answer: the requests check first, then tokens and the reservation together (two round trips)", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/key", level: "key", requestsPerMinute: 100, tokensPerMinute: 10_000 }];
    g.budgets = [budget(1_000_000)];
    const { seen, release } = slowChecks();
    const call = run("chat");
    await expect.poll(() => seen.checks).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.reserves).toBe(0); // nothing reserved while a cache hit is still possible
    release();
    expect(await outcome(call)).toBeUndefined();
    expect(seen).toMatchObject({ checks: 2, reserves: 1 });
  });

  it("a cacheable call on a route that mostly misses: tokens and reservation leave with the requests check too (one round trip)", async () => {
    g.rules = [{ id: "orgs/acme/rate-limits/key", level: "key", requestsPerMinute: 100, tokensPerMinute: 10_000 }];
    const b = budget(1_000_000);
    g.budgets = [b];
    g.speculate = true;
    for (const kind of ["chat", "stream", "embed"] as const) {
      const { seen, release } = slowChecks();
      const call = run(kind);
      await expect.poll(() => seen.reservesBeforeVerdict).toBe(1);
      expect(seen.checks).toBe(2); // requests and tokens, both in flight
      expect(g.between.reached).toBe(0);
      release();
      expect(await outcome(call)).toBeUndefined();
      expect(seen).toMatchObject({ checks: 2, reserves: 1 });
      await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
      g.between.reached = 0;
    }
    expect(g.fake.requests()).toHaveLength(3);
  });

  it("answered from the cache after all: the reservation is given back and the tokens refunded (chat, stream, embed)", async () => {
    // ≈ 42 tokens a call: without the refunds the third hit would find no room left under 100.
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 100 }];
    const b = budget(1_000_000);
    g.budgets = [b];
    g.speculate = true;
    g.between.answer = true;
    for (let i = 0; i < 3; i++) for (const kind of ["chat", "stream", "embed"] as const) expect(await outcome(run(kind, 40))).toBeUndefined();
    await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
    expect((await held(b)).spentMicros).toBe(0n);
    g.between.answer = false;
    // The whole limit is free again for a miss: two calls of ≈ 42 fit, a third is refused.
    expect(await outcome(run("chat", 40))).toBeUndefined();
    expect(await outcome(run("chat", 40))).toBeUndefined();
    await expect.poll(async () => (await outcome(run("chat", 40)))?.findDetails(RateLimitExceededSchema)[0]?.dimension).toBe(RateLimitDimension.TOKENS);
    expect(g.fake.requests()).toHaveLength(2);
  });

  it("counts such a call's tokens once, and refuses it over tokens-per-minute before the stages in between", async () => {
    g.cacheMayAnswer = false;
    // ≈ 2 input tokens + 40 output a call: two fit under 100, a third does not.
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 100 }];
    expect(await outcome(run("chat", 40))).toBeUndefined();
    expect(await outcome(run("stream", 40))).toBeUndefined();
    const err = await outcome(run("chat", 40));
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.TOKENS, limit: 100n });
    expect(g.between.reached).toBe(2);
    expect(g.fake.requests()).toHaveLength(2);
  });

  it("gives back the reservation started early when the call is refused on the way, and sends nothing (chat, stream, embed)", async () => {
    g.cacheMayAnswer = false;
    const b = budget(1_000_000);
    g.budgets = [b];
    g.between.refuse = new ConnectError("blocked by a guardrail", Code.PermissionDenied);
    for (const kind of ["chat", "stream", "embed"] as const) expect((await outcome(run(kind)))?.code).toBe(Code.PermissionDenied);
    expect(g.between.reached).toBe(3);
    g.between.refuse = undefined;
    g.rules = [{ id: "orgs/acme/rate-limits/rpm", level: "key", requestsPerMinute: 1 }];
    expect(await outcome(run("chat"))).toBeUndefined();
    for (const kind of ["chat", "stream", "embed"] as const) {
      const err = await outcome(run(kind));
      expect(err?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.REQUESTS });
    }
    await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
    expect((await held(b)).spentMicros).toBe(g.ledger.reduce((sum, r) => sum + r.costMicros, 0n));
    expect(g.fake.requests()).toHaveLength(1);
    expect(g.ledger).toHaveLength(1);
  });

  it("reports a budget refusal of the early reservation when the call gets to the budget; a tokens refusal wins over it", async () => {
    g.cacheMayAnswer = false;
    g.budgets = [budget(1)];
    const refused = await outcome(run("chat"));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.findDetails(BudgetExceededSchema)).toHaveLength(1);
    expect(g.between.reached).toBe(1);
    g.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 100 }];
    const both = await outcome(run("chat", 200));
    expect(both?.findDetails(RateLimitExceededSchema)).toHaveLength(1);
    expect(both?.findDetails(BudgetExceededSchema)).toHaveLength(0);
    expect(g.fake.requests()).toHaveLength(0);
  });

  it("sends the route's default output cap the early reservation was made on", async () => {
    g.cacheMayAnswer = false;
    const b = budget(10_000);
    g.budgets = [b];
    g.routes.set("capped", withDefaults({ alias: "capped", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], defaultMaxOutputTokens: 5 }));
    g.fake.script({ reply: { text: words(30) }, delayMs: 100 });
    const call = g.pipeline.chat({ meta: g.meta({ route: "capped" }), request: ask("hello there") });
    await expect.poll(async () => (await held(b)).reservedMicros).toBe(7n + 5n * 10n);
    await call;
    const body = g.fake.requests()[0]!.body as { max_tokens?: number; max_completion_tokens?: number };
    expect(body.max_completion_tokens ?? body.max_tokens).toBe(5);
  });

  it("holds nothing once every call has ended, and books exactly what the ledger recorded, whatever refuses (property)", async () => {
    const b = budget(400);
    g.budgets = [b];
    const step = fc.record({
      kind: fc.constantFrom<Kind>("chat", "stream", "embed"),
      mayAnswer: fc.boolean(),
      speculate: fc.boolean(),
      between: fc.constantFrom("pass", "block", "answer"),
      maxOutputTokens: fc.integer({ min: 1, max: 30 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 6 }), async (steps, rpm) => {
        g.rules = [{ id: `orgs/acme/rate-limits/r${Math.random()}`, level: "key", requestsPerMinute: rpm, tokensPerMinute: 120 }];
        const calls = steps.map((s) => {
          g.cacheMayAnswer = s.mayAnswer;
          g.speculate = s.speculate;
          g.between.refuse = s.between === "block" ? new ConnectError("blocked", Code.PermissionDenied) : undefined;
          g.between.answer = s.between === "answer" && s.mayAnswer;
          return outcome(run(s.kind, s.maxOutputTokens));
        });
        g.between.refuse = undefined;
        g.between.answer = false;
        const errors = await Promise.all(calls);
        for (const err of errors) if (err !== undefined) expect([Code.ResourceExhausted, Code.PermissionDenied]).toContain(err.code);
        await expect.poll(async () => (await held(b)).reservedMicros).toBe(0n);
        const s = await held(b);
        expect(s.spentMicros).toBe(g.ledger.reduce((sum, r) => sum + r.costMicros, 0n));
        expect(s.spentMicros).toBeLessThanOrEqual(400n);
      }),
      { numRuns: 25 },
    );
  });
});
