/**
 * A stream dispatch refuses at once (no target fits the prompt's context window, or none
 * has a capability the request needs) must end the stream with that error and settle the
 * stream's result — every outer stage (budget, overload, guardrails out, cache) waits for it.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withDefaults } from "../dispatch/route-types.js";
import type { BudgetRef } from "../limits/budget-reservation.js";
import { startMoneyHarness, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelRequest } from "../providers/model.js";

let h: MoneyHarness;
beforeEach(async () => {
  h = await startMoneyHarness({ defaultMaxOutputTokens: 20 });
  h.routes.set("tiny", withDefaults({ alias: "tiny", targets: [{ provider: "openai", model: "gpt-test", credential: "c", contextWindowTokens: 8 }], retry: { maxAttempts: 1 } }));
});
afterEach(async () => {
  await h.close();
});

const long: ModelRequest = { model: "", messages: [{ role: "user", content: [{ type: "text", text: "word ".repeat(200) }] }], maxOutputTokens: 10 };
const within = <T>(p: Promise<T>, ms = 2_000): Promise<T | "timed out"> =>
  Promise.race([p, new Promise<"timed out">((r) => setTimeout(() => r("timed out"), ms))]);
const drain = async (chunks: AsyncIterable<unknown>): Promise<unknown> => {
  try {
    for await (const _ of chunks);
    return "ended";
  } catch (err) {
    return ConnectError.from(err).code;
  }
};

describe("a stream refused by dispatch before any attempt", () => {
  it("throws InvalidArgument and settles its result (no budget)", async () => {
    const stream = h.pipeline.chatStream({ meta: h.meta({ route: "tiny" }), request: long });
    expect(await within(drain(stream.chunks))).toBe(Code.InvalidArgument);
    expect(await within(stream.result())).toMatchObject({ attempts: [] });
    expect(h.fake.requests()).toHaveLength(0);
  });

  it("throws InvalidArgument and gives its reservation back (budget)", async () => {
    const b: BudgetRef = { id: "orgs/acme/budgets/key-daily", level: "key", limitMicros: 1_000_000n, period: "daily", tz: "UTC" };
    h.budgets = [b];
    const stream = h.pipeline.chatStream({ meta: h.meta({ route: "tiny" }), request: long });
    expect(await within(drain(stream.chunks))).toBe(Code.InvalidArgument);
    await expect.poll(async () => (await h.reservations.snapshot("org_a", b)).reservedMicros, { timeout: 1_000 }).toBe(0n);
  });
});
