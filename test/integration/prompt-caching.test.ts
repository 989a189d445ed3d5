/**
 * Provider prompt caching end to end: breakpoints marked on the Chat verb's parts and tools (or
 * placed by `prompt_caching: AUTO`, or sent as Anthropic-style `cache_control` on
 * `/v1/chat/completions`) reach Claude as `cache_control`, and the cached call is billed as
 * Anthropic bills it: a cache write dearer than plain input, a read much cheaper.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { CacheMode, PromptCaching } from "../../gen/ts/switchboard/v1/common_pb.js";
import { filler } from "../../server/sandbox/word-text.js";
import { startAnthropicFake } from "../fakes/anthropic-fake.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { moneyClients, type MoneyClients } from "../support/money.js";

let gw: TestGateway;
let anthropic: FakeProvider;
let verbs: MoneyClients["verbs"];
let sdk: OpenAI;

// Anthropic's ratios (Sonnet 4.5's rates): $3 input, $3.75 cache write (1.25x), $0.30 cache read
// (0.1x), $15 output per million tokens — micro-USD per token below.
const RATES = { input: 3, write: 3.75, read: 0.3, output: 15 };
const PRICES = {
  version: "prompt-caching-1",
  rows: [{ provider: "anthropic", model: "claude-cache-test", effectiveFrom: "2020-01-01", input: 3_000_000, cacheWriteInput: 3_750_000, cachedInput: 300_000, output: 15_000_000 }],
};
const options = { route: "claude-cached", cache: { mode: CacheMode.BYPASS } };
const text = (value: string, cacheBreakpoint = false) => ({ part: { case: "text" as const, value }, cacheBreakpoint });

beforeAll(async () => {
  anthropic = await startAnthropicFake();
  gw = await startTestGateway({ baseUrls: { anthropic: anthropic.url }, credentials: new Map([["credentials/anthropic", "sk-ant-test"]]), prices: PRICES });
  const admin = moneyClients(gw.url, gw.adminKey);
  verbs = admin.verbs;
  await admin.routes.createRoute({
    routeId: "claude-cached",
    route: { targets: [{ provider: "anthropic", model: "claude-cache-test", credential: "credentials/anthropic" }], retry: { maxAttempts: 1 } },
  });
  await gw.models.resolver.refresh();
  sdk = new OpenAI({ apiKey: gw.adminKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await anthropic?.close();
});

/** Micro-USD, rounded up once, as `costMicros` bills. */
function expectedCost(t: { uncached: number; written: number; read: number; output: number }): bigint {
  const micros = t.uncached * RATES.input + t.written * RATES.write + t.read * RATES.read + t.output * RATES.output;
  return BigInt(Math.ceil(micros - 1e-9));
}

describe("prompt caching through the Chat verb", () => {
  it("sends the marks as cache_control; the first call writes (dearer), a repeat reads (cheaper)", async () => {
    anthropic.reset();
    const rules = `${filler(1500)} rules`;
    const ask = (question: string) =>
      verbs.chat({
        options,
        messages: [
          { role: Role.SYSTEM, content: [text(rules, true)] },
          { role: Role.USER, content: [text(question)] },
        ],
        tools: [{ name: "lookup", cacheBreakpoint: true }],
      });

    const first = await ask("question one");
    const body = anthropic.requests()[0]!.body as { system: unknown[]; tools: unknown[]; messages: Array<{ content: unknown[] }> };
    expect(body.system).toEqual([{ type: "text", text: rules, cache_control: { type: "ephemeral" } }]);
    expect(body.tools).toEqual([expect.objectContaining({ name: "lookup", cache_control: { type: "ephemeral" } })]);
    expect(body.messages[0]!.content).toEqual([{ type: "text", text: "question one" }]);
    expect(first.usage).toMatchObject({ inputTokens: 1503n, cacheWriteInputTokens: 1501n, cachedInputTokens: 0n, outputTokens: 3n });
    const written = expectedCost({ uncached: 2, written: 1501, read: 0, output: 3 });
    expect(first.usage!.costMicrosUsd).toBe(written);

    const second = await ask("question two");
    expect(second.usage).toMatchObject({ inputTokens: 1503n, cacheWriteInputTokens: 0n, cachedInputTokens: 1501n });
    const read = expectedCost({ uncached: 2, written: 0, read: 1501, output: 3 });
    expect(second.usage!.costMicrosUsd).toBe(read);

    // Uncached, the same call would cost in between: writes are dearer, reads far cheaper.
    const plain = expectedCost({ uncached: 1503, written: 0, read: 0, output: 3 });
    expect(written).toBeGreaterThan(plain);
    expect(read * 5n).toBeLessThan(plain);
  });

  it("AUTO places breakpoints on the last tool, the system prompt, the final message and the user turn before it", async () => {
    anthropic.reset();
    const doc = `${filler(1200)} document`;
    const conversation = [
      { role: Role.SYSTEM, content: [text("be brief")] },
      { role: Role.USER, content: [text(doc)] },
      { role: Role.ASSISTANT, content: [text("noted")] },
      { role: Role.USER, content: [text("summarise it")] },
    ];
    await verbs.chat({ options: { ...options, promptCaching: PromptCaching.AUTO }, messages: conversation.slice(0, 2), tools: [{ name: "a" }, { name: "b" }] });
    const res = await verbs.chat({ options: { ...options, promptCaching: PromptCaching.AUTO }, messages: conversation, tools: [{ name: "a" }, { name: "b" }] });
    const body = anthropic.requests()[1]!.body as { system: Array<{ cache_control?: unknown }>; tools: Array<{ cache_control?: unknown }>; messages: Array<{ content: Array<{ cache_control?: unknown }> }> };
    const marked = (items: Array<{ cache_control?: unknown }>) => items.map((b) => b.cache_control !== undefined);
    expect(marked(body.tools)).toEqual([false, true]);
    expect(marked(body.system)).toEqual([true]);
    expect(body.messages.map((m) => marked(m.content))).toEqual([[true], [false], [true]]);
    // The first call wrote system + document; this one reads it and writes the new turns.
    expect(res.usage).toMatchObject({ cachedInputTokens: 1203n, cacheWriteInputTokens: 3n });
  });

  it("without marks or AUTO sends no cache_control", async () => {
    anthropic.reset();
    await verbs.chat({ options, messages: [{ role: Role.USER, content: [text("hello")] }] });
    expect(JSON.stringify(anthropic.requests()[0]!.body)).not.toContain("cache_control");
  });

  it("refuses an undefined prompt_caching value, naming the field", async () => {
    const err = await verbs
      .chat({ options: { ...options, promptCaching: 7 as PromptCaching }, messages: [{ role: Role.USER, content: [text("hi")] }] })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("prompt_caching");
  });
});

describe("prompt caching through /v1/chat/completions", () => {
  it("takes Anthropic-style cache_control on content parts and tools and forwards it to Claude", async () => {
    anthropic.reset();
    const rules = `${filler(1100)} house rules`;
    const create = () =>
      sdk.chat.completions.create(
        {
          model: "claude-cached",
          messages: [
            { role: "system", content: [{ type: "text", text: rules, cache_control: { type: "ephemeral" } }] },
            { role: "user", content: "hi there" },
          ],
          tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } }, cache_control: { type: "ephemeral" } }],
        } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
        { headers: { "x-switchboard-cache": "bypass" } },
      );
    await create();
    const second = await create();
    const body = anthropic.requests()[0]!.body as { system: unknown[]; tools: Array<{ cache_control?: unknown }> };
    expect(body.system).toEqual([{ type: "text", text: rules, cache_control: { type: "ephemeral" } }]);
    expect(body.tools[0]!.cache_control).toEqual({ type: "ephemeral" });
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBe(1102);
  });

  it("answers 400 naming the field for an unknown cache_control type", async () => {
    const err = await sdk.chat.completions
      .create({
        model: "claude-cached",
        messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "forever" } }] }],
      } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages[0].content[0].cache_control.type");
  });
});
