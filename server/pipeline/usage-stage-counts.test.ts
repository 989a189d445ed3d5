import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startMoneyHarness, type MoneyHarness } from "../limits/money-harness.testing.js";
import type { ModelRequest } from "../providers/model.js";

let h: MoneyHarness;
beforeEach(async () => {
  h = await startMoneyHarness();
});
afterEach(async () => {
  await h.close();
});

const ask = (text: string): ModelRequest => ({ model: "", messages: [{ role: "user", content: [{ type: "text", text }] }], maxOutputTokens: 50 });

// P3: every attempt the provider billed is in the ledger, whatever counts its usage holds. A count
// past Number.MAX_SAFE_INTEGER used to reach `costMicros`, which threw: the unary caller got a
// RangeError, a stream never settled, and the paid attempt never reached the ledger.
describe("usage stage with a provider usage count the cost function refuses", () => {
  it("unary: still records the paid attempt", async () => {
    h.fake.script({ reply: { text: "ok", usage: { input: 2 ** 53 + 2, output: 2 } } });
    const outcome = await h.pipeline.chat({ meta: h.meta({ route: "two" }), request: ask("hi") }).then(
      () => "ok",
      (e: unknown) => String(e),
    );
    expect({ outcome, ledgerRows: h.ledger.length }).toEqual({ outcome: "ok", ledgerRows: 1 });
  });

  it("stream: the result settles and the attempt is recorded", async () => {
    h.fake.script({ reply: { text: "ok", usage: { input: 2 ** 53 + 2, output: 2 } } });
    const s = h.pipeline.chatStream({ meta: h.meta({ route: "two" }), request: ask("hi") });
    const read = (async () => {
      try {
        for await (const _ of s.chunks) void _;
        return "ok";
      } catch (e) {
        return String(e);
      }
    })();
    const settled = await Promise.race([s.result().then(() => "settled"), new Promise((r) => setTimeout(() => r("never settled"), 2000))]);
    expect({ read: await Promise.race([read, new Promise((r) => setTimeout(() => r("stuck"), 100))]), settled, ledgerRows: h.ledger.length }).toEqual({ read: "ok", settled: "settled", ledgerRows: 1 });
  });
});
