/**
 * Every in-flight slot of the overload stage is released exactly once, whatever ends the
 * call: answered, refused by a later stage (requests or tokens per minute, budget, a guardrail
 * standing between), cut mid-way by the caller, or answered by a cache hit, for chat, stream and
 * embed; and every stream's result settles.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BudgetRef } from "../limits/budget-reservation.js";
import { createInFlightLimiter } from "../limits/in-flight-limiter.js";
import { startMoneyHarness, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelRequest } from "../providers/model.js";
import { createMemoryState } from "../store/state/memory-state.js";
import { composeStages } from "./model-call.js";
import { createOverloadStage } from "./overload-stage.js";

let g: MoneyHarness;
beforeEach(async () => {
  g = await startMoneyHarness({}, createMemoryState(), "split");
});
afterEach(async () => {
  await g.close();
});

const ask = (text: string, maxOutputTokens: number): ModelRequest => ({ model: "", messages: [{ role: "user", content: [{ type: "text", text }] }], maxOutputTokens });
const within = <T>(p: Promise<T>, ms = 3_000): Promise<T | "timed out"> => Promise.race([p, new Promise<"timed out">((r) => setTimeout(() => r("timed out"), ms))]);

describe("overload slots around the money stages", () => {
  it("holds no slot once every call has ended, and every stream's result settles (property)", async () => {
    const limiter = createInFlightLimiter({ maxInFlight: 100, maxInFlightPerKey: 100 });
    const p = composeStages([createOverloadStage({ limiter })], g.pipeline);
    const b: BudgetRef = { id: "orgs/acme/budgets/key-daily", level: "key", limitMicros: 300n, period: "daily", tz: "UTC" };
    g.budgets = [b];
    const step = fc.record({
      kind: fc.constantFrom("chat", "stream", "embed"),
      mayAnswer: fc.boolean(),
      speculate: fc.boolean(),
      between: fc.constantFrom("pass", "block", "answer"),
      readChunks: fc.integer({ min: 0, max: 4 }),
      maxOutputTokens: fc.integer({ min: 1, max: 30 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 6 }), async (steps, rpm) => {
        g.rules = [{ id: `orgs/acme/rate-limits/r${Math.random()}`, level: "key", requestsPerMinute: rpm, tokensPerMinute: 120 }];
        const calls = steps.map(async (s) => {
          g.cacheMayAnswer = s.mayAnswer;
          g.speculate = s.speculate;
          g.between.refuse = s.between === "block" ? new ConnectError("blocked", Code.PermissionDenied) : undefined;
          g.between.answer = s.between === "answer" && s.mayAnswer;
          const meta = g.meta(s.kind === "embed" ? { verb: "embed" } : {});
          if (s.kind === "chat") return p.chat({ meta, request: ask("hello", s.maxOutputTokens) }).then(() => "ok", () => "failed");
          if (s.kind === "embed") return p.embed({ meta, request: { model: "", inputs: ["hello"] } }).then(() => "ok", () => "failed");
          const stream = p.chatStream({ meta, request: ask("hello", s.maxOutputTokens) });
          const it = stream.chunks[Symbol.asyncIterator]();
          try {
            // read at least once: a stream nobody reads starts nothing
            for (let i = 0; i <= s.readChunks; i++) if ((await it.next()).done) break;
            await it.return?.();
          } catch {
            // refused
          }
          return within(stream.result()).then((r) => (r === "timed out" ? "result hung" : "ok"));
        });
        g.between.refuse = undefined;
        g.between.answer = false;
        const outcomes = await Promise.all(calls);
        expect(outcomes).not.toContain("result hung");
        await expect.poll(() => limiter.inFlight()).toBe(0);
        expect(limiter.keysInFlight()).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it("takes no slot for a stream nobody reads, nor for one closed before its first read", async () => {
    const limiter = createInFlightLimiter({ maxInFlight: 1, maxInFlightPerKey: 1 });
    const p = composeStages([createOverloadStage({ limiter })], g.pipeline);
    p.chatStream({ meta: g.meta(), request: ask("hello", 5) });
    const closed = p.chatStream({ meta: g.meta(), request: ask("hello", 5) });
    await closed.chunks[Symbol.asyncIterator]().return?.();
    expect(limiter.inFlight()).toBe(0);
    // The cap of 1 still admits a call.
    await p.chat({ meta: g.meta(), request: ask("hello", 5) });
    expect(limiter.inFlight()).toBe(0);
    expect(g.fake.requests()).toHaveLength(1);
  });
});
