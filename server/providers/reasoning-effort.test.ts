/**
 * `reasoningEffort` as each adapter puts it on the wire, read from what the provider fakes
 * received: OpenAI and Azure send `reasoning_effort` to the reasoning models (by the model id, not
 * an Azure deployment's name) and leave it out for the others, which the fake refuses as OpenAI
 * does; the other OpenAI-compatible vendors leave it out; Anthropic asks the models that take a
 * thinking budget for one of at most half of `max_tokens` (without `temperature`/`top_p`), the
 * models that take only adaptive thinking for that with `output_config.effort`, or for none where
 * the Messages API would refuse it; Gemini sends a `thinkingConfig` (a budget for 2.x
 * models, a level for 3 and later). A streamed Anthropic answer with thinking blocks yields only
 * the answer's text.
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
  const openaiProvider = () => createOpenAIProvider({ baseUrl: openai.url, http });
  const azure = () => createOpenAICompatibleProvider("azure", { baseUrl: openai.url, http });

  it("OpenAI and Azure send reasoning_effort as asked to the reasoning models", async () => {
    for (const model of ["o1", "o3", "o3-mini-2025-01-31", "o4-mini", "gpt-5", "gpt-5-nano", "gpt-5.1", "gpt-5.2-2025-12-11", "ft:o4-mini-2025-04-16:acme::abc123"]) {
      await openaiProvider().chat(ask(model, { reasoningEffort: "high" }), ctx());
      expect(bodyOf(openai).reasoning_effort, model).toBe("high");
    }
    await openaiProvider().chat(ask("gpt-5-mini", { reasoningEffort: "minimal" }), ctx());
    expect(bodyOf(openai).reasoning_effort).toBe("minimal");
    // Azure gates on the model the target names, not on its deployment's name.
    await azure().chat(ask("o4-mini", { reasoningEffort: "medium" }), { ...ctx(), params: { deployment: "my-o4" } });
    expect(openai.requests().at(-1)!.path).toBe("/openai/deployments/my-o4/chat/completions");
    expect(bodyOf(openai).reasoning_effort).toBe("medium");
  });

  it("sends low for minimal to the reasoning models that take no minimal (the o-series, GPT-5.1 and later)", async () => {
    for (const model of ["o3", "o4-mini", "gpt-5.1", "gpt-5.2"]) {
      const res = await openaiProvider().chat(ask(model, { reasoningEffort: "minimal" }), ctx());
      expect(res.text, model).toBe("echo: why is the sky blue");
      expect(bodyOf(openai).reasoning_effort, model).toBe("low");
    }
  });

  it("leaves it out for the models that refuse it, and the call goes through as if none was asked", async () => {
    const refusing = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4", "gpt-3.5-turbo", "chatgpt-4o-latest", "o1-mini", "o1-preview", "gpt-5-chat-latest", "gpt-5.1-chat-latest", "ft:gpt-4o-mini-2024-07-18:acme::abc123"];
    for (const model of refusing) {
      const res = await openaiProvider().chat(ask(model, { reasoningEffort: "high" }), ctx());
      expect(res.text, model).toBe("echo: why is the sky blue");
      expect(bodyOf(openai), model).not.toHaveProperty("reasoning_effort");
      const chunks = await collect(openaiProvider().chatStream(ask(model, { reasoningEffort: "low" }), ctx()));
      expect(chunks.some((c) => c.type === "finish"), model).toBe(true);
      expect(bodyOf(openai), model).not.toHaveProperty("reasoning_effort");
    }
    await azure().chat(ask("gpt-4o", { reasoningEffort: "high" }), { ...ctx(), params: { deployment: "my-o4" } });
    expect(bodyOf(openai)).not.toHaveProperty("reasoning_effort");
    // A model id the adapter does not know as a reasoning model — here an Azure deployment's name
    // standing in for the model — answers at its default rather than risking the 400.
    await azure().chat(ask("my-o4", { reasoningEffort: "minimal" }), ctx());
    expect(bodyOf(openai)).not.toHaveProperty("reasoning_effort");
  });

  it("is not sent when unset, nor to vendors that may reject it (Groq, Mistral)", async () => {
    await openaiProvider().chat(ask("o4-mini"), ctx());
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
      await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: effort, maxOutputTokens: 10_000, temperature: 0.2, topP: 0.5 }), ctx());
      const body = bodyOf(anthropic);
      expect(body.thinking).toEqual({ type: "enabled", budget_tokens: budget });
      expect(body.max_tokens).toBe(10_000);
      expect(body).not.toHaveProperty("temperature");
      expect(body).not.toHaveProperty("top_p");
    }
  });

  it("caps the budget at half of max_tokens, leaving the other half to the answer", async () => {
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "high", maxOutputTokens: 8000 }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ max_tokens: 8000, thinking: { type: "enabled", budget_tokens: 4000 } });
    // Without a caller's max the adapter's default (4096) bounds it too.
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "high" }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ max_tokens: 4096, thinking: { type: "enabled", budget_tokens: 2048 } });
    await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "medium", maxOutputTokens: 2049 }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ max_tokens: 2049, thinking: { type: "enabled", budget_tokens: 1024 } });
  });

  it("asks for no thinking when half of max_tokens is under the least budget (1,024), and answers with the caller's sampling", async () => {
    for (const maxOutputTokens of [2047, 2000, 1024]) {
      const res = await provider().chat(ask("claude-sonnet-4-5", { reasoningEffort: "high", maxOutputTokens, temperature: 0.2 }), ctx());
      expect(res.text).toBe("echo: why is the sky blue");
      const body = bodyOf(anthropic);
      expect(body, String(maxOutputTokens)).not.toHaveProperty("thinking");
      expect(body.max_tokens).toBe(maxOutputTokens);
      expect(body.temperature).toBe(0.2);
    }
  });

  it("asks for thinking only from the models that take a thinking budget; the others answer as if no effort was asked", async () => {
    const thinking = ["claude-3-7-sonnet-20250219", "claude-3-7-sonnet-latest", "claude-sonnet-4-20250514", "claude-sonnet-4-0", "claude-opus-4-20250514", "claude-opus-4-1-20250805", "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-5", "claude-opus-4-6", "claude-sonnet-4-6"];
    for (const model of thinking) {
      await provider().chat(ask(model, { reasoningEffort: "medium", maxOutputTokens: 8000, temperature: 0.2 }), ctx());
      expect(bodyOf(anthropic).thinking, model).toEqual({ type: "enabled", budget_tokens: 2048 });
    }
    // Claude 3 and 3.5 have no thinking; an id the adapter does not know (a model after its lists, a
    // name of the caller's) gets none rather than risking a 400.
    const none = ["claude-3-5-sonnet-20241022", "claude-3-5-haiku-latest", "claude-3-haiku-20240307", "claude-3-opus-20240229", "claude-3-sonnet-20240229", "claude-opus-9", "claude-sonnet-4-7", "claude-2.1", "my-claude"];
    for (const model of none) {
      const res = await provider().chat(ask(model, { reasoningEffort: "high", maxOutputTokens: 8000, temperature: 0.2 }), ctx());
      expect(res.text, model).toBe("echo: why is the sky blue");
      expect(bodyOf(anthropic), model).not.toHaveProperty("thinking");
      expect(bodyOf(anthropic), model).not.toHaveProperty("output_config");
      // A Claude id from 4.7 on takes no temperature, listed or not (sampling-models.ts).
      expect(bodyOf(anthropic).temperature, model).toBe(["claude-opus-9", "claude-sonnet-4-7"].includes(model) ? undefined : 0.2);
      await collect(provider().chatStream(ask(model, { reasoningEffort: "low", maxOutputTokens: 8000 }), ctx()));
      expect(bodyOf(anthropic), model).not.toHaveProperty("thinking");
    }
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
    expect(bodyOf(anthropic).thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
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

describe("reasoning effort on the Anthropic wire: adaptive thinking", () => {
  const provider = () => createAnthropicProvider({ baseUrl: `${anthropic.url}/`, http });
  /** The models that refuse a budget and take only adaptive thinking, aliases and a dated snapshot. */
  const adaptiveOnly = [
    "claude-opus-4-7",
    "claude-opus-4-7-20260416",
    "claude-opus-4-8",
    "claude-mythos-preview",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-fable-5-1",
    "claude-mythos-5-1",
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-opus-5-5",
    "claude-sonnet-5-5",
    "claude-haiku-5-5",
  ];

  it("asks the adaptive-only models for adaptive thinking at output_config.effort (minimal as low), without temperature or top_p", async () => {
    const efforts = [
      ["minimal", "low"],
      ["low", "low"],
      ["medium", "medium"],
      ["high", "high"],
    ] as const;
    for (const [effort, level] of efforts) {
      const res = await provider().chat(ask("claude-opus-4-7", { reasoningEffort: effort, maxOutputTokens: 10_000, temperature: 0.2, topP: 0.5 }), ctx());
      expect(res.text, effort).toBe("echo: why is the sky blue");
      const body = bodyOf(anthropic);
      expect(body.thinking, effort).toEqual({ type: "adaptive" });
      expect(body.output_config, effort).toEqual({ effort: level });
      expect(body.max_tokens).toBe(10_000);
      expect(body).not.toHaveProperty("temperature");
      expect(body).not.toHaveProperty("top_p");
    }
    for (const model of adaptiveOnly) {
      const res = await provider().chat(ask(model, { reasoningEffort: "medium" }), ctx());
      expect(res.text, model).toBe("echo: why is the sky blue");
      expect(bodyOf(anthropic), model).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "medium" } });
    }
  });

  it("has no least budget to keep: adaptive thinking is asked for under any max_tokens", async () => {
    await provider().chat(ask("claude-opus-4-7", { reasoningEffort: "high", maxOutputTokens: 1024 }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ max_tokens: 1024, thinking: { type: "adaptive" }, output_config: { effort: "high" } });
  });

  it("keeps a budget for the 4.6 models, which take both, and sends neither to the models before them", async () => {
    for (const model of ["claude-opus-4-6", "claude-sonnet-4-6"]) {
      await provider().chat(ask(model, { reasoningEffort: "low", maxOutputTokens: 8000 }), ctx());
      expect(bodyOf(anthropic).thinking, model).toEqual({ type: "enabled", budget_tokens: 1024 });
      expect(bodyOf(anthropic), model).not.toHaveProperty("output_config");
    }
    for (const model of ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5", "claude-3-7-sonnet-latest"]) {
      await provider().chat(ask(model, { reasoningEffort: "low", maxOutputTokens: 8000 }), ctx());
      expect(bodyOf(anthropic), model).not.toHaveProperty("output_config");
      expect((bodyOf(anthropic).thinking as { type: string }).type, model).toBe("enabled");
    }
  });

  it("sends no effort at all when none is asked for", async () => {
    await provider().chat(ask("claude-opus-4-7", { temperature: 0.2 }), ctx());
    expect(bodyOf(anthropic)).not.toHaveProperty("thinking");
    expect(bodyOf(anthropic)).not.toHaveProperty("output_config");
    // Opus 4.7 refuses a temperature, thinking or not (sampling-models.ts).
    expect(bodyOf(anthropic)).not.toHaveProperty("temperature");
    await provider().chat(ask("claude-opus-4-6", { temperature: 0.2 }), ctx());
    expect(bodyOf(anthropic)).not.toHaveProperty("thinking");
    expect(bodyOf(anthropic)).not.toHaveProperty("output_config");
    expect(bodyOf(anthropic).temperature).toBe(0.2);
  });

  it("asks for adaptive thinking with a forced tool (which refuses only a budget)", async () => {
    const tool = { name: "lookup", parameters: { type: "object", properties: {} } };
    for (const toolChoice of [{ type: "required" }, { type: "tool", name: "lookup" }] as const) {
      const res = await provider().chat(ask("claude-opus-4-7", { reasoningEffort: "minimal", tools: [tool], toolChoice, temperature: 0.2 }), ctx());
      expect(res.toolCalls?.map((c) => c.name) ?? [], toolChoice.type).toEqual(toolChoice.type === "tool" ? ["lookup"] : []);
      expect(bodyOf(anthropic), toolChoice.type).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "low" }, tool_choice: { type: toolChoice.type === "tool" ? "tool" : "any" } });
      expect(bodyOf(anthropic), toolChoice.type).not.toHaveProperty("temperature");
    }
  });

  it("continuing a tool call, asks for no thinking but still sends the effort, with the sampling the model takes", async () => {
    const tool = { name: "lookup", parameters: { type: "object", properties: {} } };
    const continued: ModelRequest = {
      model: "claude-opus-4-7",
      reasoningEffort: "high",
      temperature: 0.2,
      tools: [tool],
      messages: [
        { role: "user", content: [{ type: "text", text: "look it up" }] },
        { role: "assistant", content: [], toolCalls: [{ id: "toolu_1", name: "lookup", argumentsJson: "{}" }] },
        { role: "tool", toolCallId: "toolu_1", content: [{ type: "text", text: "found" }] },
      ],
    };
    await provider().chat(continued, ctx());
    expect(bodyOf(anthropic)).not.toHaveProperty("thinking");
    expect(bodyOf(anthropic)).toMatchObject({ output_config: { effort: "high" } });
    expect(bodyOf(anthropic)).not.toHaveProperty("temperature"); // Opus 4.7 takes none
    // A 4.6 model takes a temperature, and is asked for a budget: none when continuing, and no effort.
    await provider().chat({ ...continued, model: "claude-sonnet-4-6" }, ctx());
    expect(bodyOf(anthropic)).not.toHaveProperty("thinking");
    expect(bodyOf(anthropic)).not.toHaveProperty("output_config");
    expect(bodyOf(anthropic).temperature).toBe(0.2);
    await provider().chat(ask("claude-opus-4-7", { reasoningEffort: "medium", tools: [tool], toolChoice: { type: "auto" } }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "medium" } });
  });

  it("answers only with the answer's text, unary and streamed, and counts the thinking as reasoning tokens", async () => {
    anthropic.script({ reply: { text: "Rayleigh scattering", thinking: "short waves scatter more so the sky looks blue" } });
    const chunks = await collect(provider().chatStream(ask("claude-opus-4-7", { reasoningEffort: "high" }), ctx()));
    expect(bodyOf(anthropic)).toMatchObject({ stream: true, thinking: { type: "adaptive" }, output_config: { effort: "high" } });
    const text = chunks.flatMap((c) => (c.type === "text" ? [c.text] : [])).join("");
    expect(text).toBe("Rayleigh scattering");
    expect(chunks.find((c) => c.type === "usage")).toMatchObject({ usage: { outputTokens: 11, reasoningTokens: 9, estimated: false } });

    anthropic.script({ reply: { text: "Rayleigh scattering", thinking: "short waves scatter more so the sky looks blue" } });
    const unary = await provider().chat(ask("claude-fable-5", { reasoningEffort: "low" }), ctx());
    expect(bodyOf(anthropic)).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "low" } });
    expect(unary.text).toBe("Rayleigh scattering");
    expect(unary.usage).toMatchObject({ outputTokens: 11, reasoningTokens: 9 });
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
