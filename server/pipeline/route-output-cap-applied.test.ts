/**
 * The tokens-per-minute estimate uses the call's output cap as the budget stage
 * sizes it — the request's max output tokens, else the route's `default_max_output_tokens` (which
 * is what is sent to the provider), else the configured default (README, "Money": "Tokens count
 * the call's estimate (input + output cap) up front"; RELIABILITY P5: "For TPM, admitted tokens ≤
 * T + one request's max tokens", and no false throttling).
 *
 * It used to ignore the route's default and always count `defaultMaxOutputTokens` (4096) for a
 * request that set no max, so:
 * - on a route whose default cap is small, a call that can use at most ~110 tokens is refused
 *   under a 1 000 TPM limit as one that "alone exceeds the limit" (no retry delay);
 * - on a route whose default cap is large, concurrent calls are each counted at 4 096 and admitted
 *   together far beyond the limit.
 * Real Redis state (REDIS_URL).
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { requireEnv } from "../../test/support/require-env.js";
import { withDefaults } from "../dispatch/route-types.js";
import { startMoneyHarness, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelRequest } from "../providers/model.js";
import { createRedisState } from "../store/state/redis-state.js";

let g: MoneyHarness | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

const redis = () => createRedisState({ url: requireEnv("REDIS_URL"), keyPrefix: `sbtest:route-cap:${randomBytes(6).toString("hex")}:`, commandTimeoutMs: 2000 });
const ask = (text: string): ModelRequest => ({ model: "", messages: [{ role: "user", content: [{ type: "text", text }] }] });

describe("tokens-per-minute and the route's default output cap", () => {
  for (const setup of ["single", "split"] as const) {
    it(`admits a call whose route caps its output well under the limit (${setup})`, async () => {
      const h = (g = await startMoneyHarness({}, redis(), setup === "single" ? {} : "split"));
      h.cacheMayAnswer = false;
      h.routes.set("small", withDefaults({ alias: "small", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], retry: { maxAttempts: 1 }, defaultMaxOutputTokens: 100 }));
      h.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: 1_000 }];
      h.fake.script({ reply: { text: "ok", usage: { input: 6, output: 2 } } });
      // The call can use at most ≈ 6 input + 100 output tokens: far within 1 000 per minute.
      const outcome = await h.pipeline.chat({ meta: h.meta({ route: "small" }), request: ask("hello") }).then(
        () => "admitted",
        (err: unknown) => (err instanceof ConnectError ? `${Code[err.code]}: ${err.rawMessage}` : String(err)),
      );
      expect(outcome).toBe("admitted");
    });
  }

  it("keeps admitted tokens within the limit plus one call's cap when the route's cap is large (P5)", async () => {
    const h = (g = await startMoneyHarness({}, redis()));
    h.routes.set("big", withDefaults({ alias: "big", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], retry: { maxAttempts: 1 }, defaultMaxOutputTokens: 20_000 }));
    const limit = 25_000;
    h.rules = [{ id: "orgs/acme/rate-limits/tpm", level: "key", tokensPerMinute: limit }];
    const calls = 8;
    // Every call may (and does) use its whole cap: 20 000 output tokens each.
    for (let i = 0; i < calls; i++) h.fake.script({ delayMs: 200, reply: { text: "ok", usage: { input: 6, output: 20_000 } } });
    const results = await Promise.allSettled(Array.from({ length: calls }, () => h.pipeline.chat({ meta: h.meta({ route: "big" }), request: ask("hello") })));
    const admitted = results.filter((r) => r.status === "fulfilled").length;
    const used = h.ledger.reduce((n, r) => n + r.inputTokens + r.outputTokens, 0);
    // P5: admitted tokens ≤ T + one request's max tokens.
    expect(used, `${admitted} of ${calls} calls admitted`).toBeLessThanOrEqual(limit + 20_006);
  });
});

describe("the route's default output cap", () => {
  for (const budgeted of [true, false]) {
    it(`is sent to the provider for a request that sets none (${budgeted ? "under a budget" : "no budget covers the caller"})`, async () => {
      const h = (g = await startMoneyHarness({}, redis()));
      h.routes.set("small", withDefaults({ alias: "small", targets: [{ provider: "openai", model: "gpt-test", credential: "c" }], retry: { maxAttempts: 1 }, defaultMaxOutputTokens: 100 }));
      if (budgeted) h.budgets = [{ id: "orgs/acme/budgets/b", level: "key", limitMicros: 1_000_000n, period: "daily", tz: "UTC" }];
      h.fake.script({ reply: { text: "ok", usage: { input: 6, output: 2 } } }, { reply: { text: "ok", usage: { input: 6, output: 2 } } });
      await h.pipeline.chat({ meta: h.meta({ route: "small" }), request: ask("hello") });
      for await (const _ of h.pipeline.chatStream({ meta: h.meta({ route: "small" }), request: ask("hello") }).chunks);
      const sent = h.fake.requests().map((r) => {
        const body = r.body as { max_tokens?: number; max_completion_tokens?: number };
        return body.max_completion_tokens ?? body.max_tokens;
      });
      // route_service.proto: "Default max output tokens when a request sets none";
      // common.proto max_output_tokens: "Unset: the route's default".
      expect(sent).toEqual([100, 100]);
    });
  }
});
