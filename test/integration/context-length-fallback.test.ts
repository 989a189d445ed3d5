/**
 * A provider's context-length refusal falls back to the route's next target: the chars/4
 * pre-check lets through a prompt the first model's tokenizer finds too long (no window declared
 * here), OpenAI answers its real `context_length_exceeded` 400, and the route's Anthropic
 * fallback answers. The refused attempt is an attempt row of its own, billed nothing (a 400
 * before generating). A route that turns the fallback off stops at the refusal.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, moneyClients, type MoneyClients } from "../support/money.js";

let gw: TestGateway;
let fakes: Record<"openai" | "anthropic", FakeProvider>;
let admin: MoneyClients;

const price = (provider: string, model: string) => ({ provider, model, effectiveFrom: "2020-01-01", input: 1_000_000, output: 10_000_000 });
const PRICES = { version: "context-fallback-1", rows: [price("openai", "gpt-small"), price("anthropic", "claude-big")] };
const TARGETS = [
  { provider: "openai", model: "gpt-small", credential: "credentials/openai" },
  { provider: "anthropic", model: "claude-big", credential: "credentials/anthropic", priority: 1 },
];
const TOO_LONG = { fault: { kind: "status", status: 400, errorType: "context_length_exceeded" } } as const;

beforeAll(async () => {
  const [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
  fakes = { openai, anthropic };
  gw = await startTestGateway({
    baseUrls: { openai: `${openai.url}/v1`, anthropic: anthropic.url },
    credentials: new Map([
      ["credentials/openai", "sk-openai-test"],
      ["credentials/anthropic", "sk-ant-test"],
    ]),
    prices: PRICES,
  });
  admin = moneyClients(gw.url, gw.adminKey);
  await admin.routes.createRoute({ routeId: "long-prompts", route: { targets: TARGETS, retry: { maxAttempts: 3 } } });
  await admin.routes.createRoute({ routeId: "no-context-fallback", route: { targets: TARGETS, retry: { maxAttempts: 3, fallbackOnContextLength: false } } });
  await gw.models.resolver.refresh();
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await Promise.all(Object.values(fakes ?? {}).map((f) => f.close()));
});

const resetFakes = () => Object.values(fakes).forEach((f) => f.reset());
const withId = (requestId: string) => ({ headers: { "x-request-id": requestId } });
const rowsOf = async (requestId: string) => {
  await gw.money.ledger.flush();
  const all = { start: new Date(0), end: new Date(Date.now() + 60_000) };
  return (await gw.money.usage.list({ ...all, requestId, limit: 100 })).items.filter((r) => r.attempt > 0).sort((a, b) => a.attempt - b.attempt);
};

describe("a context-length refusal falls back to the next target", () => {
  it("OpenAI's context_length_exceeded 400 moves the call to Anthropic, which answers; the refusal is an unbilled attempt row", async () => {
    resetFakes();
    fakes.openai.script(TOO_LONG);
    const res = await admin.verbs.chat({ options: { route: "long-prompts" }, messages: chatMessage("a long prompt") }, withId("req-ctx-fallback"));
    expect(res.message?.content.length).toBeGreaterThan(0);
    // Refused once, not retried on the same target (maxAttempts 3).
    expect(fakes.openai.requests()).toHaveLength(1);
    expect(fakes.anthropic.requests()).toHaveLength(1);
    const rows = await rowsOf("req-ctx-fallback");
    expect(rows.map((r) => [r.provider, r.model, r.outcome === "success"])).toEqual([
      ["openai", "gpt-small", false],
      ["anthropic", "claude-big", true],
    ]);
    expect(rows[0]?.costMicros).toBe(0n);
    expect(rows[1]?.costMicros).toBeGreaterThan(0n);
  });

  it("the same refusal stops the call as INVALID_ARGUMENT when the route sets fallbackOnContextLength: false", async () => {
    resetFakes();
    fakes.openai.script(TOO_LONG);
    const err = await admin.verbs
      .chat({ options: { route: "no-context-fallback" }, messages: chatMessage("a long prompt") })
      .then(
        () => {
          throw new Error("the call succeeded");
        },
        (e: unknown) => ConnectError.from(e),
      );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("longer than the model's context window");
    expect(err.rawMessage).not.toContain("every target");
    expect(fakes.openai.requests()).toHaveLength(1);
    expect(fakes.anthropic.requests()).toEqual([]);
  });
});
