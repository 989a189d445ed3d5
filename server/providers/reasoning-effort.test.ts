/**
 * `reasoningEffort` as each adapter puts it on the wire, read from what the provider fakes
 * received: OpenAI and Azure send `reasoning_effort`; the other OpenAI-compatible vendors leave it
 * out; Anthropic asks for extended thinking with a budget under `max_tokens` (without
 * `temperature`/`top_p`), or not at all where the Messages API would refuse it; Gemini sends a
 * `thinkingConfig` (a budget for 2.x models, a level for 3 and later). A streamed Anthropic answer
 * with thinking blocks yields only the answer's text.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../../test/fakes/anthropic-fake.js";
import type { FakeProvider } from "../../test/fakes/fake-types.js";
import { startGeminiFake } from "../../test/fakes/gemini-fake.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import { createAnthropicProvider } from "./anthropic.js";
import { createGeminiProvider } from "./gemini.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import type { ModelRequest } from "./model.js";
import { createOpenAIProvider } from "./openai.js";
import { createOpenAICompatibleProvider } from "./openai-compatible.js";
import { collect } from "./provider-calls.testing.js";

let openai: FakeProvider;
let anthropic: FakeProvider;
let gemini: FakeProvider;
let http: HttpClient;

beforeAll(async () => {
  [openai, anthropic, gemini] = await Promise.all([startOpenAIFake(), startAnthropicFake(), startGeminiFake()]);
  http = createHttpClient();
});
afterAll(async () => {
  await http.close();
  await Promise.all([openai.close(), anthropic.close(), gemini.close()]);
});
beforeEach(() => {
  openai.reset();
  anthropic.reset();
  gemini.reset();
});

const ctx = () => ({ signal: AbortSignal.timeout(10_000), apiKey: "test-key" });
const ask = (model: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({
  model,
  messages: [{ role: "user", content: [{ type: "text", text: "why is the sky blue" }] }],
  ...extra,
});
const bodyOf = (fake: FakeProvider): Record<string, unknown> => fake.requests().at(-1)!.body as Record<string, unknown>;

describe("reasoning effort on the OpenAI wire", () => {
  it("OpenAI and Azure receive reasoning_effort as asked", async () => {
    await createOpenAIProvider({ baseUrl: openai.url, http }).chat(ask("o4-mini", { reasoningEffort: "high" }), ctx());
    expect(bodyOf(openai).reasoning_effort).toBe("high");
    await createOpenAICompatibleProvider("azure", { baseUrl: openai.url, http }).chat(ask("my-o4", { reasoningEffort: "minimal" }), ctx());
    expect(bodyOf(openai).reasoning_effort).toBe("minimal");
  });

  it("is not sent when unset, nor to vendors that may reject it (Groq, Mistral)", async () => {
    await createOpenAIProvider({ baseUrl: openai.url, http }).chat(ask("gpt-4o"), ctx());
    expect(bodyOf(openai)).not.toHaveProperty("reasoning_effort");
    for (const kind of ["groq", "mistral"] as const) {
      const res = await createOpenAICompatibleProvider(kind, { baseUrl: openai.url, http }).chat(ask("m", { reasoningEffort: "low" }), ctx());
      expect(res.text).toBe("echo: why is the sky blue");
      expect(bodyOf(openai)).not.toHaveProperty("reasoning_effort");
    }
  });
});

describe("reasoning effort on the Anthropic wire", () => {
  const provider = () => createAnthropicProvider({ baseUrl: `${anthropic.url}/`, http });

  it("asks for extended thinking with the effort's budget, without temperature or top_p", async () => {
    const efforts = [
      ["minimal", 1024],
      ["low", 1024],
      ["medium", 2048],
      ["high", 4096],
    ] as const;
    for (const [effort, budget] of efforts) {
      await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: effort, maxOutputTokens: 8000, temperature: 0.2, topP: 0.5 }), ctx());
      const body = bodyOf(anthropic);
      expect(body.thinking).toEqual({ type: "enabled", budget_tokens: budget });
      expect(body.max_tokens).toBe(8000);
      expect(body).not.toHaveProperty("temperature");
      expect(body).not.toHaveProperty("top_p");
    }
  });

  it("shrinks the budget under max_tokens, and asks for no thinking when the least budget does not fit", async () => {
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "high", maxOutputTokens: 2000 }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ max_tokens: 2000, thinking: { type: "enabled", budget_tokens: 1999 } });
    // Without a caller's max the adapter's default (4096) bounds it too.
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "high" }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ max_tokens: 4096, thinking: { type: "enabled", budget_tokens: 4095 } });
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "low", maxOutputTokens: 1024, temperature: 0.2 }), ctx());
    const body = bodyOf(anthropic);
    expect(body).not.toHaveProperty("thinking");
    expect(body.temperature).toBe(0.2);
  });

  it("asks for no thinking with a forced tool, or when the conversation continues a tool call", async () => {
    const tool = { name: "lookup", parameters: { type: "object", properties: {} } };
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "medium", tools: [tool], toolChoice: { type: "required" } }), ctx());
    expect(bodyOf(anthropic)).not.toHaveProperty("thinking");
    const continued: ModelRequest = {
      model: "claude-sonnet-4-5",
      reasoningEffort: "medium",
      tools: [tool],
      messages: [
        { role: "user", content: [{ type: "text", text: "look it up" }] },
        { role: "assistant", content: [], toolCalls: [{ id: "toolu_1", name: "lookup", argumentsJson: "{}" }] },
        { role: "tool", toolCallId: "toolu_1", content: [{ type: "text", text: "found" }] },
      ],
    };
    await provider().chat(continued, ctx());
    expect(bodyOf(anthropic)).not.toHaveProperty("thinking");
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "medium", tools: [tool], toolChoice: { type: "auto" } }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ thinking: { type: "enabled", budget_tokens: 2048 } });
  });

  it("streams only the answer's text: thinking and signature deltas are not text, and the usage counts the thinking", async () => {
    anthropic.script({ reply: { text: "Rayleigh scattering", thinking: "short waves scatter more so the sky looks blue" } });
    const chunks = await collect(provider().chatStream(ask("claude-sonnet-4-5", { reasoningEffort: "low", maxOutputTokens: 4000 }), ctx()));
    const text = chunks.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("");
    expect(text).toBe("Rayleigh scattering");
    const usage = chunks.find((c) => c.type === "usage");
    expect(usage).toMatchObject({ usage: { outputTokens: 11, reasoningTokens: 9, estimated: false } });
    // A unary answer with a thinking block before its text block: only the text is the answer.
    const unary = await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "low", maxOutputTokens: 4000 }), ctx());
    expect(unary.text).toBe("echo: why is the sky blue");
    expect(unary.usage.reasoningTokens).toBeGreaterThan(0);
  });
});

describe("reasoning effort on the Gemini wire", () => {
  const provider = () => createGeminiProvider({ baseUrl: gemini.url, http });
  const thinkingOf = () => (bodyOf(gemini).generationConfig as Record<string, unknown> | undefined)?.thinkingConfig;

  it("sends a thinking budget to Gemini 2.x models and a thinking level to Gemini 3", async () => {
    const budgets = { minimal: 512, low: 1024, medium: 2048, high: 4096 } as const;
    for (const [effort, budget] of Object.entries(budgets)) {
      await provider().chat(ask("gemini-2.5-flash", { reasoningEffort: effort as keyof typeof budgets }), ctx());
      expect(thinkingOf()).toEqual({ thinkingBudget: budget });
    }
    const levels = { minimal: "low", low: "low", medium: "high", high: "high" } as const;
    for (const [effort, level] of Object.entries(levels)) {
      await provider().chat(ask("gemini-3-pro-preview", { reasoningEffort: effort as keyof typeof levels }), ctx());
      expect(thinkingOf()).toEqual({ thinkingLevel: level });
    }
    await provider().chat(ask("gemini-2.5-flash"), ctx());
    expect(thinkingOf()).toBeUndefined();
    // Models that do not think (or an alias that does not say which kind it takes) get none.
    for (const model of ["gemini-2.0-flash", "gemini-flash-latest"]) {
      await provider().chat(ask(model, { reasoningEffort: "high" }), ctx());
      expect(thinkingOf()).toBeUndefined();
    }
  });
});
