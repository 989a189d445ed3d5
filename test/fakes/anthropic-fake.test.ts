/**
 * Proves the Anthropic fake is wire-faithful: the official `@anthropic-ai/sdk` (retries off) parses
 * its unary answers, streams (raw events and the `messages.stream` helper), tool use, prompt-cache
 * usage and error envelopes exactly as the SDK documents them.
 */
import Anthropic, { APIError, BadRequestError, InternalServerError, OverloadedError, RateLimitError } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { filler } from "../../server/sandbox/word-text.js";
import { startAnthropicFake } from "./anthropic-fake.js";
import type { FakeProvider } from "./fake-types.js";

const MODEL = "claude-sonnet-5-5";
/** A model that takes a thinking budget (the adaptive-only generation, MODEL's, refuses one). */
const BUDGET_THINKING_MODEL = "claude-sonnet-4-5";
const API_KEY = "sk-ant-api03-test-key";
/**
 * Request options pinning the API version the adapter sends: the SDK's own (2026-10-21) takes no
 * sampling controls at all, so a test of `temperature` and `top_p` sends them at 2023-06-01.
 */
const V2023 = { headers: { "anthropic-version": "2023-06-01" } };
const weather = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] },
};

let fake: FakeProvider;
let client: Anthropic;

beforeAll(async () => {
  fake = await startAnthropicFake();
  client = new Anthropic({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

describe("anthropic fake, read by @anthropic-ai/sdk", () => {
  it("answers a unary call with a Message the SDK parses", async () => {
    const msg = await client.messages.create({ model: MODEL, max_tokens: 256, system: "be brief", messages: [{ role: "user", content: "hello there" }] });
    expect(msg.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.model).toBe(MODEL);
    expect(msg.content).toEqual([{ type: "text", text: "echo: hello there" }]);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage.input_tokens).toBe(4); // "be brief" + "hello there"
    expect(msg.usage.output_tokens).toBe(3);
    expect(msg._request_id).toMatch(/^req_01/);
    const req = fake.requests()[0]!;
    expect(req.path).toBe("/v1/messages");
    expect(req.headers["authorization"]).toBe(`Bearer ${API_KEY}`); // the SDK's 1.x auth; the adapter sends x-api-key
    expect(req.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/); // the SDK pins its own version
    expect(fake.truth()).toEqual([
      { path: "/v1/messages", model: MODEL, stream: false, inputTokens: 4, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, delivered: "complete" },
    ]);
  });

  it("reports prompt-cache and thinking usage in the documented fields", async () => {
    fake.script({ reply: { text: "cached", usage: { input: 1200, output: 9, cachedInput: 1024, cacheWrite: 100, reasoning: 8 } } });
    const msg = await client.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: "hi" }] });
    expect(msg.usage).toMatchObject({
      input_tokens: 76,
      cache_read_input_tokens: 1024,
      cache_creation_input_tokens: 100,
      output_tokens: 9,
      output_tokens_details: { thinking_tokens: 8 },
    });
    expect(fake.truth()[0]).toMatchObject({ inputTokens: 1200, cachedInputTokens: 1024, cacheWriteInputTokens: 100, outputTokens: 9, reasoningTokens: 8 });
  });

  it("caches a prefix marked with cache_control: the first call writes it, a repeat reads it (unary and streamed)", async () => {
    const system = [{ type: "text" as const, text: `${filler(1100)} rules`, cache_control: { type: "ephemeral" as const } }];
    const ask = (question: string) => client.messages.create({ model: MODEL, max_tokens: 64, system, messages: [{ role: "user", content: question }] });
    const first = await ask("first question here");
    expect(first.usage).toMatchObject({ input_tokens: 3, cache_creation_input_tokens: 1101, cache_read_input_tokens: 0 });
    expect(first.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 1101, ephemeral_1h_input_tokens: 0 });
    const second = await ask("another question");
    expect(second.usage).toMatchObject({ input_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 1101 });
    expect(fake.truth()[1]).toMatchObject({ inputTokens: 1103, cachedInputTokens: 1101, cacheWriteInputTokens: 0 });

    const stream = client.messages.stream({ model: MODEL, max_tokens: 64, system, messages: [{ role: "user", content: "streamed one" }] });
    const streamed = await stream.finalMessage();
    expect(streamed.usage).toMatchObject({ input_tokens: 2, cache_read_input_tokens: 1101, cache_creation_input_tokens: 0 });
    // Another model has its own cache.
    const other = await client.messages.create({ model: "claude-opus-5-5", max_tokens: 64, system, messages: [{ role: "user", content: "hi" }] });
    expect(other.usage).toMatchObject({ cache_creation_input_tokens: 1101, cache_read_input_tokens: 0 });
  });

  it("reads the previous turn's entry through the lookback, and writes only the new blocks", async () => {
    const doc = `${filler(1500)} end`;
    const mark = { cache_control: { type: "ephemeral" as const } };
    const turn1 = await client.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: [{ type: "text", text: doc, ...mark }] }] });
    expect(turn1.usage).toMatchObject({ input_tokens: 0, cache_creation_input_tokens: 1501, cache_read_input_tokens: 0 });
    const turn2 = await client.messages.create({
      model: MODEL,
      max_tokens: 64,
      messages: [
        { role: "user", content: [{ type: "text", text: doc }] },
        { role: "assistant", content: "the answer" },
        { role: "user", content: [{ type: "text", text: "and then what", ...mark }] },
      ],
    });
    expect(turn2.usage).toMatchObject({ input_tokens: 0, cache_read_input_tokens: 1501, cache_creation_input_tokens: 5 });
  });

  it("caches nothing below the minimum length, and none of it without cache_control", async () => {
    const short = await client.messages.create({
      model: MODEL,
      max_tokens: 64,
      system: [{ type: "text", text: "short rules", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "hi" }],
    });
    expect(short.usage).toMatchObject({ input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    const long = `${filler(1200)} unmarked`;
    for (let i = 0; i < 2; i++) {
      const unmarked = await client.messages.create({ model: MODEL, max_tokens: 64, system: long, messages: [{ role: "user", content: "hi" }] });
      expect(unmarked.usage).toMatchObject({ input_tokens: 1202, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    }
  });

  it("refuses more than 4 cache_control blocks and an unknown cache_control type as the API does", async () => {
    const mark = { cache_control: { type: "ephemeral" as const } };
    const five = await client.messages
      .create({
        model: MODEL,
        max_tokens: 64,
        tools: [{ ...weather, ...mark }],
        system: [{ type: "text", text: "a", ...mark }],
        messages: [{ role: "user", content: [{ type: "text", text: "b", ...mark }, { type: "text", text: "c", ...mark }, { type: "text", text: "d", ...mark }] }],
      })
      .catch((e: unknown) => e);
    expect(five).toBeInstanceOf(BadRequestError);
    expect((five as BadRequestError).apiMessage).toBe("A maximum of 4 blocks with cache_control may be provided. Found 5.");
    const unknown = await client.messages
      .create({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: [{ type: "text", text: "b", cache_control: { type: "persistent" } }] }] } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(BadRequestError);
    expect((unknown as BadRequestError).apiMessage).toMatch(/cache_control/);
  });

  it("truncates at max_tokens with stop_reason max_tokens, and at a stop sequence", async () => {
    fake.script({ reply: { text: "one two three four five six" } }, { reply: { text: "alpha beta STOP gamma" } });
    const cut = await client.messages.create({ model: MODEL, max_tokens: 3, messages: [{ role: "user", content: "count" }] });
    expect(cut.content).toEqual([{ type: "text", text: "one two three" }]);
    expect(cut.stop_reason).toBe("max_tokens");
    expect(cut.usage.output_tokens).toBe(3);
    const stopped = await client.messages.create({ model: MODEL, max_tokens: 100, stop_sequences: ["STOP"], messages: [{ role: "user", content: "go" }] });
    expect(stopped.stop_reason).toBe("stop_sequence");
    expect(stopped.stop_sequence).toBe("STOP");
    expect(stopped.content).toEqual([{ type: "text", text: "alpha beta " }]);
  });

  it("streams raw events in the documented order (ping right after message_start)", async () => {
    fake.script({ reply: { text: "a streamed answer in pieces", usage: { input: 10, output: 5, cachedInput: 4, cacheWrite: 2 } } });
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: MODEL, max_tokens: 64, stream: true, messages: [{ role: "user", content: "go" }] }),
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("request-id")).toMatch(/^req_01/);
    const names = [...(await res.text()).matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(names.slice(0, 3)).toEqual(["message_start", "ping", "content_block_start"]);
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);

    fake.script({ reply: { text: "a streamed answer in pieces", usage: { input: 10, output: 5, cachedInput: 4, cacheWrite: 2 } } });
    const stream = await client.messages.create({ model: MODEL, max_tokens: 64, stream: true, messages: [{ role: "user", content: "go" }] });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("message_start");
    expect(types.at(-2)).toBe("message_delta");
    expect(types.at(-1)).toBe("message_stop");
    const start = events[0]!;
    if (start.type !== "message_start") throw new Error("unreachable");
    expect(start.message.usage).toMatchObject({ input_tokens: 4, cache_read_input_tokens: 4, cache_creation_input_tokens: 2, output_tokens: 1 });
    const delta = events.at(-2)!;
    if (delta.type !== "message_delta") throw new Error("unreachable");
    expect(delta.delta.stop_reason).toBe("end_turn");
    expect(delta.usage.output_tokens).toBe(5);
    const text = events.map((e) => (e.type === "content_block_delta" && e.delta.type === "text_delta" ? e.delta.text : "")).join("");
    expect(text).toBe("a streamed answer in pieces");
  });

  it("answers extended thinking with a signed thinking block before the text, unary and streamed", async () => {
    fake.script({ reply: { text: "blue light scatters", thinking: "short waves scatter more" } });
    const msg = await client.messages.create({ model: BUDGET_THINKING_MODEL, max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: "why" }] });
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    const block = msg.content[0]!;
    if (block.type !== "thinking") throw new Error("unreachable");
    expect(block.thinking).toBe("short waves scatter more");
    expect(block.signature).not.toBe("");
    expect(msg.usage).toMatchObject({ output_tokens: 7, output_tokens_details: { thinking_tokens: 4 } });

    fake.script({ reply: { text: "blue light scatters", thinking: "short waves scatter more" } });
    const stream = client.messages.stream({ model: BUDGET_THINKING_MODEL, max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: "why" }] });
    const texts: string[] = [];
    const thoughts: string[] = [];
    const signatures: string[] = [];
    stream.on("text", (t) => texts.push(t));
    stream.on("thinking", (t) => thoughts.push(t));
    stream.on("signature", (sig) => signatures.push(sig));
    const final = await stream.finalMessage();
    expect(texts.join("")).toBe("blue light scatters");
    expect(thoughts.join("")).toBe("short waves scatter more");
    expect(signatures).toHaveLength(1);
    expect(final.content).toEqual([
      { type: "thinking", thinking: "short waves scatter more", signature: signatures[0] },
      expect.objectContaining({ type: "text", text: "blue light scatters" }),
    ]);
    expect(final.usage).toMatchObject({ output_tokens: 7, output_tokens_details: { thinking_tokens: 4 } });
  });

  it("refuses thinking as the API does: a budget under 1,024 or not below max_tokens, a temperature, a forced tool", async () => {
    const ask = (extra: Record<string, unknown>) =>
      client.messages.create({ model: BUDGET_THINKING_MODEL, max_tokens: 2048, messages: [{ role: "user", content: "why" }], ...extra } as Anthropic.MessageCreateParamsNonStreaming, V2023);
    for (const extra of [
      { thinking: { type: "enabled", budget_tokens: 512 } },
      { thinking: { type: "enabled", budget_tokens: 2048 } },
      { thinking: { type: "enabled", budget_tokens: 1024 }, temperature: 0.5 },
      { thinking: { type: "enabled", budget_tokens: 1024 }, tools: [weather], tool_choice: { type: "any" } },
    ]) {
      await expect(ask(extra)).rejects.toBeInstanceOf(BadRequestError);
    }
    await expect(ask({ thinking: { type: "enabled", budget_tokens: 1024 }, temperature: 1 })).resolves.toMatchObject({ type: "message" });
  });

  it("refuses a thinking budget for the models that take none, with the API's messages", async () => {
    const ask = (model: string) => client.messages.create({ model, max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: "why" }] });
    for (const model of ["claude-3-5-sonnet-20241022", "claude-3-5-haiku-latest", "claude-3-haiku-20240307", "claude-3-opus-20240229"]) {
      const err = await ask(model).catch((e: unknown) => e);
      expect(err, model).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: `'${model}' does not support thinking.` } });
    }
    for (const model of ["claude-opus-4-7", "claude-opus-4-7-20260416", "claude-mythos-preview", "claude-fable-5", "claude-mythos-5-2", MODEL]) {
      const err = await ask(model).catch((e: unknown) => e);
      expect(err, model).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error, model).toMatchObject({ error: { type: "invalid_request_error", message: expect.stringContaining('"thinking.type.enabled" is not supported for this model.') } });
    }
    for (const model of ["claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514", "claude-opus-4-1", "claude-haiku-4-5", "claude-opus-4-6"]) {
      await expect(ask(model), model).resolves.toMatchObject({ type: "message" });
    }
    expect(fake.truth().map((t) => t.model)).toEqual(["claude-3-7-sonnet-20250219", "claude-sonnet-4-20250514", "claude-opus-4-1", "claude-haiku-4-5", "claude-opus-4-6"]);
  });

  it("answers adaptive thinking with a signed thinking block before the text, unary and streamed", async () => {
    fake.script({ reply: { text: "blue light scatters", thinking: "short waves scatter more" } });
    const msg = await client.messages.create({ model: MODEL, max_tokens: 256, thinking: { type: "adaptive" }, output_config: { effort: "low" }, messages: [{ role: "user", content: "why" }] });
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    const block = msg.content[0]!;
    if (block.type !== "thinking") throw new Error("unreachable");
    expect(block.thinking).toBe("short waves scatter more");
    expect(block.signature).not.toBe("");
    expect(msg.usage).toMatchObject({ output_tokens: 7, output_tokens_details: { thinking_tokens: 4 } });

    fake.script({ reply: { text: "blue light scatters", thinking: "short waves scatter more" } });
    const stream = client.messages.stream({ model: "claude-opus-4-7", max_tokens: 256, thinking: { type: "adaptive" }, output_config: { effort: "high" }, messages: [{ role: "user", content: "why" }] });
    const texts: string[] = [];
    const thoughts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    stream.on("thinking", (t) => thoughts.push(t));
    const final = await stream.finalMessage();
    expect(texts.join("")).toBe("blue light scatters");
    expect(thoughts.join("")).toBe("short waves scatter more");
    expect(final.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    expect(final.usage).toMatchObject({ output_tokens: 7, output_tokens_details: { thinking_tokens: 4 } });
    // The effort alone, without thinking, is an answer without a thinking block.
    const plain = await client.messages.create({ model: MODEL, max_tokens: 256, output_config: { effort: "medium" }, messages: [{ role: "user", content: "why" }] });
    expect(plain.content.map((b) => b.type)).toEqual(["text"]);
  });

  it("takes adaptive thinking from the 4.6 models on, and refuses it from the models before them, with the API's messages", async () => {
    const ask = (model: string) => client.messages.create({ model, max_tokens: 256, thinking: { type: "adaptive" }, messages: [{ role: "user", content: "why" }] });
    for (const model of ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-5", "claude-opus-4-1", "claude-sonnet-4-0", "claude-3-7-sonnet-20250219"]) {
      const err = await ask(model).catch((e: unknown) => e);
      expect(err, model).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error, model).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: "adaptive thinking is not supported on this model" } });
    }
    const none = await ask("claude-3-5-sonnet-20241022").catch((e: unknown) => e);
    expect((none as BadRequestError).error).toMatchObject({ error: { message: "'claude-3-5-sonnet-20241022' does not support thinking." } });
    const takes = ["claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-mythos-preview", "claude-fable-5", "claude-mythos-5-1", MODEL];
    for (const model of takes) await expect(ask(model), model).resolves.toMatchObject({ type: "message" });
    expect(fake.truth().map((t) => t.model)).toEqual(takes);
  });

  it("refuses adaptive thinking with a temperature or a low top_p, an effort it does not know, and an effort from a model without one", async () => {
    const ask = (model: string, extra: Record<string, unknown>) =>
      client.messages.create({ model, max_tokens: 256, messages: [{ role: "user", content: "why" }], ...extra } as Anthropic.MessageCreateParamsNonStreaming, V2023);
    const refused: Array<[string, Record<string, unknown>, string]> = [
      // A 4.6 model: it takes adaptive thinking and, without thinking, either sampling control.
      ["claude-opus-4-6", { thinking: { type: "adaptive" }, temperature: 0.5 }, "`temperature` may only be set to 1 when thinking is enabled"],
      ["claude-sonnet-4-6", { thinking: { type: "adaptive" }, top_p: 0.5 }, "`top_p` must be greater than or equal to 0.95 when thinking is enabled"],
      [MODEL, { thinking: { type: "adaptive" }, output_config: { effort: "minimal" } }, "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"],
      ["claude-sonnet-4-5", { output_config: { effort: "low" } }, "This model does not support the effort parameter."],
      ["claude-haiku-4-5", { output_config: { effort: "low" } }, "This model does not support the effort parameter."],
    ];
    for (const [model, extra, message] of refused) {
      const err = await ask(model, extra).catch((e: unknown) => e);
      expect(err, message).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error, message).toMatchObject({ type: "error", error: { type: "invalid_request_error", message } });
    }
    await expect(ask("claude-opus-4-6", { thinking: { type: "adaptive" }, temperature: 1 })).resolves.toMatchObject({ type: "message" });
    await expect(ask("claude-opus-4-6", { thinking: { type: "adaptive" }, top_p: 0.95 })).resolves.toMatchObject({ type: "message" });
    // Opus 4.5 took the effort parameter before adaptive thinking existed.
    await expect(ask("claude-opus-4-5", { output_config: { effort: "low" } })).resolves.toMatchObject({ type: "message" });
    // Adaptive thinking, unlike a budget, takes a forced tool.
    await expect(ask(MODEL, { thinking: { type: "adaptive" }, tools: [weather], tool_choice: { type: "any" } })).resolves.toMatchObject({ type: "message" });
  });

  it("refuses the sampling controls a model no longer takes, with the API's messages", async () => {
    const ask = (model: string, sampling: Record<string, number>) =>
      client.messages.create({ model, max_tokens: 256, messages: [{ role: "user", content: "why" }], ...sampling } as Anthropic.MessageCreateParamsNonStreaming, V2023);
    const refusedWith = async (model: string, sampling: Record<string, number>, message: string) => {
      const err = await ask(model, sampling).catch((e: unknown) => e);
      expect(err, `${model} ${JSON.stringify(sampling)}`).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error, `${model} ${JSON.stringify(sampling)}`).toMatchObject({ type: "error", error: { type: "invalid_request_error", message } });
      expect((err as BadRequestError).requestID).toMatch(/^req_01/);
    };
    // From Opus 4.7 on: any value but the default, each control on its own.
    for (const model of ["claude-opus-4-7", "claude-opus-4-7-20260416", "claude-opus-4-8", "claude-mythos-preview", "claude-fable-5", "claude-mythos-5-2", "claude-sonnet-5", MODEL, "claude-haiku-5-5"]) {
      await refusedWith(model, { temperature: 0.2 }, "`temperature` is deprecated for this model.");
      await refusedWith(model, { temperature: 0 }, "`temperature` is deprecated for this model.");
      await refusedWith(model, { top_p: 0.9 }, "`top_p` is deprecated for this model.");
      await refusedWith(model, { top_k: 40 }, "`top_k` is deprecated for this model.");
      await expect(ask(model, { temperature: 1 }), model).resolves.toMatchObject({ type: "message" });
    }
    // Opus 4.1 through the 4.6 models: the pair, whatever the values.
    for (const model of ["claude-opus-4-1", "claude-opus-4-1-20250805", "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-6", "claude-opus-4-6"]) {
      await refusedWith(model, { temperature: 0.2, top_p: 0.9 }, "`temperature` and `top_p` cannot both be specified for this model. Please use only one.");
      await refusedWith(model, { temperature: 1, top_p: 1 }, "`temperature` and `top_p` cannot both be specified for this model. Please use only one.");
      await expect(ask(model, { temperature: 0.2 }), model).resolves.toMatchObject({ type: "message" });
      await expect(ask(model, { top_p: 0.9, top_k: 40 }), model).resolves.toMatchObject({ type: "message" });
    }
    // The models before them, and an id the fake does not know, take both.
    for (const model of ["claude-3-7-sonnet-20250219", "claude-3-5-haiku-latest", "claude-sonnet-4-20250514", "claude-opus-4-0", "my-model"]) {
      await expect(ask(model, { temperature: 0.2, top_p: 0.9, top_k: 40 }), model).resolves.toMatchObject({ type: "message" });
    }
  });

  it("refuses every sampling control, on every model and at any value, at API version 2026-10-21 (the SDK's)", async () => {
    for (const [model, field, value] of [
      ["claude-3-5-haiku-latest", "temperature", 1],
      ["claude-sonnet-4-20250514", "temperature", 0.2],
      ["claude-sonnet-4-6", "top_p", 0.9],
      ["my-model", "top_k", 40],
    ] as const) {
      const err = await client.messages.create({ model, max_tokens: 64, messages: [{ role: "user", content: "why" }], [field]: value } as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
      expect(err, model).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).error, model).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: `${field}: Extra inputs are not permitted` } });
    }
    expect(fake.requests().map((r) => r.headers["anthropic-version"])).toEqual(["2026-10-21", "2026-10-21", "2026-10-21", "2026-10-21"]);
    await expect(client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 64, messages: [{ role: "user", content: "why" }] })).resolves.toMatchObject({ type: "message" });
  });

  it("builds the final message through the messages.stream helper", async () => {
    fake.script({ reply: { text: "héllo wörld 😀 from the helper", usage: { input: 20, output: 6, cachedInput: 12 } } });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "go" }] });
    const pieces: string[] = [];
    stream.on("text", (t) => pieces.push(t));
    const msg = await stream.finalMessage();
    expect(pieces.join("")).toBe("héllo wörld 😀 from the helper");
    expect(msg.content).toEqual([expect.objectContaining({ type: "text", text: "héllo wörld 😀 from the helper" })]);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage).toMatchObject({ input_tokens: 8, cache_read_input_tokens: 12, cache_creation_input_tokens: 0, output_tokens: 6 });
    expect(fake.truth()[0]).toMatchObject({ stream: true, inputTokens: 20, outputTokens: 6, cachedInputTokens: 12, delivered: "complete" });
  });

  it("answers with tool_use blocks, unary", async () => {
    fake.script({ reply: { toolCalls: [{ id: "toolu_01A", name: "get_weather", argumentsJson: '{"city":"Paris"}' }], finishReason: "tool_calls" } });
    const msg = await client.messages.create({ model: MODEL, max_tokens: 256, tools: [weather], messages: [{ role: "user", content: "weather in Paris?" }] });
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content).toEqual([{ type: "tool_use", id: "toolu_01A", name: "get_weather", input: { city: "Paris" } }]);
    expect(JSON.stringify(fake.requests()[0]!.body)).toContain("input_schema");
  });

  it("streams parallel tool_use blocks that the helper reassembles", async () => {
    fake.script({
      reply: {
        text: "Checking both.",
        toolCalls: [
          { name: "get_weather", argumentsJson: '{"city":"Paris"}' },
          { name: "get_weather", argumentsJson: '{"city":"Oslo","unit":"celsius"}' },
        ],
      },
    });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256, tools: [weather], messages: [{ role: "user", content: "weather?" }] });
    const jsonPieces: string[] = [];
    stream.on("inputJson", (partial) => jsonPieces.push(partial));
    const msg = await stream.finalMessage();
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content.map((b) => b.type)).toEqual(["text", "tool_use", "tool_use"]);
    const uses = msg.content.filter((b) => b.type === "tool_use");
    expect(uses.map((u) => u.input)).toEqual([{ city: "Paris" }, { city: "Oslo", unit: "celsius" }]);
    expect(uses.every((u) => /^toolu_01[0-9A-Za-z]{22}$/.test(u.id))).toBe(true);
    expect(jsonPieces.length).toBeGreaterThan(2);
  });

  it("answers a forced tool_choice with a tool_use of that tool, the scripted text as its input (unary and streamed)", async () => {
    const schema = { type: "object" as const, properties: { total: { type: "number" } } };
    const tools = [{ name: "emit", input_schema: schema }];
    fake.script({ reply: { text: '{"total":42}' } }, { reply: { text: '{"total":7}' } });
    const msg = await client.messages.create({ model: MODEL, max_tokens: 256, tools, tool_choice: { type: "tool", name: "emit" }, messages: [{ role: "user", content: "total?" }] });
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content).toEqual([{ type: "tool_use", id: expect.stringMatching(/^toolu_01/), name: "emit", input: { total: 42 } }]);
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256, tools, tool_choice: { type: "tool", name: "emit" }, messages: [{ role: "user", content: "total?" }] });
    const streamed = await stream.finalMessage();
    expect(streamed.stop_reason).toBe("tool_use");
    expect(streamed.content).toEqual([{ type: "tool_use", id: expect.stringMatching(/^toolu_01/), name: "emit", input: { total: 7 } }]);
  });

  it("answers 429 with the envelope and retry-after the SDK exposes on RateLimitError", async () => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterSeconds: 7 } });
    const err = await client.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const e = err as RateLimitError;
    expect(e.status).toBe(429);
    expect(e.headers.get("retry-after")).toBe("7");
    expect(e.headers.get("anthropic-ratelimit-requests-remaining")).toBe("0");
    expect(e.requestID).toMatch(/^req_01/);
    expect(e.type).toBe("rate_limit_error");
    expect(e.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" }, request_id: e.requestID });
  });

  it("answers 529 as the SDK's OverloadedError (an InternalServerError)", async () => {
    fake.script({ fault: { kind: "status", status: 529 } });
    const err = await client.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OverloadedError);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as OverloadedError).status).toBe(529);
    expect((err as OverloadedError).type).toBe("overloaded_error");
  });

  it("answers 400 as BadRequestError with the API's message", async () => {
    fake.script({ fault: { kind: "status", status: 400, message: "prompt is too long: 210000 tokens > 200000 maximum" } });
    const err = await client.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).type).toBe("invalid_request_error");
    expect((err as BadRequestError).apiMessage).toBe("prompt is too long: 210000 tokens > 200000 maximum");
  });

  it("rejects a request without x-api-key as the API does", async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  it("sends a mid-stream overloaded_error that the SDK throws as an APIError of that type", async () => {
    fake.script({ reply: { text: "one two three four five six" }, fault: { kind: "mid_stream_error" } });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "go" }] });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBeUndefined();
    expect((err as APIError).type).toBe("overloaded_error");
    expect((err as APIError).apiMessage).toBe("Overloaded");
    expect(fake.truth()[0]).toMatchObject({ stream: true, outputTokens: 2, delivered: "partial" });

    fake.script({ reply: { text: "one two three four five six" }, fault: { kind: "mid_stream_error" } });
    const raw = await client.messages.create({ model: MODEL, max_tokens: 64, stream: true, messages: [{ role: "user", content: "go" }] });
    const seen: string[] = [];
    const rawErr = await (async () => {
      for await (const event of raw) seen.push(event.type);
    })().catch((e: unknown) => e);
    expect(rawErr).toBeInstanceOf(APIError);
    expect((rawErr as APIError).type).toBe("overloaded_error");
    expect(seen).toEqual(["message_start", "content_block_start", "content_block_delta"]);
  });

  it("omits usage for missing_usage, which the SDK tolerates", async () => {
    fake.script({ reply: { text: "no usage here" }, fault: { kind: "missing_usage" } });
    const msg = await client.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "go" }] });
    expect(msg.content).toEqual([{ type: "text", text: "no usage here" }]);
    expect(msg.usage).toBeUndefined();
    expect(fake.truth()[0]).toMatchObject({ outputTokens: 3 });
  });
});
