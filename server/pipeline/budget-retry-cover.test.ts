import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withDefaults, type RouteInput } from "../dispatch/route-types.js";
import type { BudgetRef } from "../limits/budget-reservation.js";
import { startMoneyHarness, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelRequest } from "../providers/model.js";

// P1 across retries and fallbacks: a failed attempt may be billed (a timeout at its input's
// estimate), so the reservation — one attempt's worst case — is extended by what the failed
// attempts cost before the next one starts, and a cap that refuses stops the retries.

let h: MoneyHarness;
beforeEach(async () => {
  h = await startMoneyHarness({ defaultMaxOutputTokens: 20 });
});
afterEach(async () => {
  await h.close();
});

const ask = (text: string, maxOutputTokens: number): ModelRequest => ({
  model: "",
  messages: [{ role: "user", content: [{ type: "text", text }] }],
  maxOutputTokens,
});
const cap = (limit: bigint | number, id = "orgs/acme/budgets/key-daily"): BudgetRef => ({ id, level: "key", limitMicros: BigInt(limit), period: "daily", tz: "UTC" });
const counters = (b: BudgetRef) => h.reservations.snapshot("org_a", b);
const route = (input: RouteInput) => h.routes.set(input.alias, withDefaults(input));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
/** The ledger's total since row `from`. */
const booked = (from = 0) => h.ledger.slice(from).reduce((sum, r) => sum + r.costMicros, 0n);

// "x" × 4000 is 1,000 input tokens by the ledger's estimate of a timed-out attempt (1000 µ$ at
// gpt-test's 1 µ$ a token) and 1,004 in the reservation's (framing counted); one output token
// is 10 µ$. So a call holds 1,014 µ$, a timed-out attempt books 1,000 and a full answer 1,014.
const HEAVY = "x".repeat(4000);
const HOLD = 1014n;
const TIMED_OUT = 1000n;
const hang = { delayMs: 2000 };
const answer = { reply: { text: "y", usage: { input: 1004, output: 1 } } };

function retrying(maxAttempts: number): void {
  route({
    alias: "retrying",
    // 250 ms: long enough that the answer's attempt never times out on a loaded machine too (at
    // 100 ms it did, one run in a few under a load average of 10: one timeout more than scripted).
    targets: [{ provider: "openai", model: "gpt-test", credential: "c", attemptTimeoutMs: 250 }],
    retry: { maxAttempts, initialBackoffMs: 1, maxBackoffMs: 2, throttleMaxTokens: 1000, throttleTokenRatio: 1 },
    // Many timeouts in a row, on purpose: neither the breaker nor the retry throttle may step in.
    breaker: { volumeThreshold: 1_000_000 },
  });
}

describe("budget stage: retries and fallbacks stay within the cap", () => {
  it("does not retry when the cap cannot cover a timed-out attempt's bill and another attempt", async () => {
    retrying(3);
    const b = cap(HOLD);
    h.budgets = [b];
    h.fake.script(hang, hang, answer);
    const err = await failure(h.pipeline.chat({ meta: h.meta({ route: "retrying" }), request: ask(HEAVY, 1) }));
    expect(err?.code).toBe(Code.DeadlineExceeded);
    expect(err?.rawMessage).toContain("a spend cap cannot cover another attempt");
    expect(h.fake.requests()).toHaveLength(1);
    await expect.poll(async () => (await counters(b)).reservedMicros).toBe(0n);
    expect(h.ledger.map((r) => r.costMicros)).toEqual([TIMED_OUT]);
    expect((await counters(b)).spentMicros).toBe(TIMED_OUT);
  });

  it("retries when the cap covers the failed attempts' bills too, and books every attempt", async () => {
    retrying(3);
    const b = cap(HOLD + 2n * TIMED_OUT);
    h.budgets = [b];
    h.fake.script(hang, hang, answer);
    const result = await h.pipeline.chat({ meta: h.meta({ route: "retrying" }), request: ask(HEAVY, 1) });
    expect(result.attempts.map((a) => a.outcome)).toEqual(["timeout", "timeout", "success"]);
    await expect.poll(async () => (await counters(b)).reservedMicros).toBe(0n);
    expect((await counters(b)).spentMicros).toBe(HOLD + 2n * TIMED_OUT);
    expect(booked()).toBe(HOLD + 2n * TIMED_OUT);
  });

  it("holds for any number of timeouts, attempts and cap: spent ≤ cap, counters = ledger, nothing left held", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.bigInt({ min: HOLD, max: HOLD + 3n * TIMED_OUT + 50n }), async (timeouts, maxAttempts, limit) => {
        retrying(maxAttempts);
        h.fake.reset();
        h.fake.script(...Array.from({ length: timeouts }, () => hang), answer);
        const b = cap(limit, `orgs/acme/budgets/run-${run++}`);
        h.budgets = [b];
        const from = h.ledger.length;
        const err = await failure(h.pipeline.chat({ meta: h.meta({ route: "retrying" }), request: ask(HEAVY, 1) }));
        await expect.poll(async () => (await counters(b)).reservedMicros).toBe(0n);
        const { spentMicros } = await counters(b);
        expect(spentMicros).toBeLessThanOrEqual(limit);
        expect(spentMicros).toBe(booked(from));
        // Each timeout is retried while attempts are left and the cap covers its bill besides a
        // hold. (A timed-out attempt bills 1,000 µ$ — or nothing if it never left, as on a busy
        // machine whose connection was not open yet: the verdicts follow what was billed.)
        const failed = h.ledger.slice(from).filter((r) => r.outcome !== "success");
        const covered = HOLD + failed.reduce((sum, r) => sum + r.costMicros, 0n) <= limit;
        if (err === undefined) expect(covered && failed.length === timeouts).toBe(true);
        else if (err.rawMessage.includes("a spend cap cannot cover another attempt")) expect(covered).toBe(false);
        else expect([failed.length, covered]).toEqual([maxAttempts, true]);
        // Nothing ran unbilled: the timeouts that were made are billed as estimated, or not at all.
        for (const r of failed) expect([0n, TIMED_OUT]).toContain(r.costMicros);
      }),
      { numRuns: 24 },
    );
  });

  it("holds for concurrent calls that fall back after a timeout", async () => {
    route({
      alias: "slow-then-b",
      targets: [
        // Long enough that all four first attempts reach the fake (whose script is taken in
        // arrival order) before the first of them times out, on a busy machine too.
        { provider: "openai", model: "gpt-test", credential: "c", priority: 0, attemptTimeoutMs: 300 },
        { provider: "openai", model: "gpt-test-b", credential: "c", priority: 1 },
      ],
      retry: { maxAttempts: 1 },
    });
    // "hello there": 7 input tokens; 20 output tokens at gpt-test-b's 20 µ$: 407 µ$ held per
    // call; its timed-out attempt on gpt-test books 3 µ$ (the input's estimate).
    const calls = 4;
    for (const [limit, succeed] of [
      [407 * calls, false],
      [410 * calls, true],
    ] as const) {
      h.fake.reset();
      const b = cap(limit, `orgs/acme/budgets/fallback-${limit}`);
      h.budgets = [b];
      const from = h.ledger.length;
      for (let i = 0; i < calls; i++) h.fake.script({ delayMs: 2000, reply: { text: "late", usage: { input: 7, output: 1 } } });
      for (let i = 0; i < calls; i++) h.fake.script({ reply: { text: "full answer", usage: { input: 7, output: 20 } } });
      const calling = Array.from({ length: calls }, () => h.pipeline.chat({ meta: h.meta({ route: "slow-then-b" }), request: ask("hello there", 20) }));
      const results = await Promise.allSettled(calling);
      if (succeed) expect(results.every((r) => r.status === "fulfilled")).toBe(true);
      // Refused a fallback for want of cover — unless the timed-out attempt never left (a busy
      // machine's connection not yet open at the timeout: nothing billed, nothing to cover).
      else for (const r of results) if (r.status === "rejected") expect(ConnectError.from(r.reason).rawMessage).toContain("a spend cap cannot cover another attempt");
      await expect.poll(async () => (await counters(b)).reservedMicros).toBe(0n);
      const { spentMicros } = await counters(b);
      expect(spentMicros).toBe(booked(from));
      expect(spentMicros).toBeLessThanOrEqual(b.limitMicros);
    }
  });

  it("holds for a stream whose first attempt never sends its first token", async () => {
    route({
      alias: "stalls-then-b",
      targets: [
        { provider: "openai", model: "gpt-test", credential: "c", priority: 0, firstTokenTimeoutMs: 40 },
        { provider: "openai", model: "gpt-test-b", credential: "c", priority: 1 },
      ],
      retry: { maxAttempts: 1 },
    });
    for (const [limit, succeed] of [
      [407, false],
      [410, true],
    ] as const) {
      h.fake.reset();
      const b = cap(limit, `orgs/acme/budgets/stream-${limit}`);
      h.budgets = [b];
      const from = h.ledger.length;
      h.fake.script({ delayMs: 1000 }, { reply: { text: "full answer", usage: { input: 7, output: 20 } } });
      const stream = h.pipeline.chatStream({ meta: h.meta({ route: "stalls-then-b" }), request: ask("hello there", 20) });
      const err = await failure(
        (async () => {
          for await (const _ of stream.chunks);
        })(),
      );
      expect(err === undefined).toBe(succeed);
      if (!succeed) expect(err?.rawMessage).toContain("a spend cap cannot cover another attempt");
      const result = await stream.result();
      expect(result.attempts.length).toBe(succeed ? 2 : 1);
      await expect.poll(async () => (await counters(b)).reservedMicros).toBe(0n);
      const { spentMicros } = await counters(b);
      expect(spentMicros).toBe(booked(from));
      expect(spentMicros).toBeLessThanOrEqual(b.limitMicros);
    }
  });
});
