/**
 * Proves the OpenAI fake is wire-faithful: the official `openai` SDK, pointed at it, parses
 * unary and streamed answers, tool calls, usage, embeddings and errors exactly as it documents.
 */
import OpenAI, { APIError, AuthenticationError, BadRequestError, InternalServerError, RateLimitError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeProvider } from "./fake-types.js";
import { fakeVector } from "./fake-text.js";
import { startOpenAIFake } from "./openai-fake.js";

let fake: FakeProvider;
let client: OpenAI;

beforeAll(async () => {
  fake = await startOpenAIFake();
  client = new OpenAI({ apiKey: "sk-test-fake", baseURL: `${fake.url}/v1`, maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }, strict: true },
};

describe("openai fake through the official SDK", () => {
  it("answers a unary call with the echo reply, usage and request id", async () => {
    const { data, response, request_id } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello there world" }] })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]?.message).toMatchObject({ role: "assistant", content: "echo: hello there world", refusal: null });
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
    expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get("openai-processing-ms")).toBe("12");
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("9999");
    expect(fake.requests()[0]?.headers.authorization).toBe("Bearer sk-test-fake");
    expect(fake.truth()).toEqual([
      { path: "/v1/chat/completions", model: "gpt-4o-mini", stream: false, inputTokens: 5, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, delivered: "complete" },
    ]);
  });

  it("streams chunks with the role first, an empty-choices usage chunk, and [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "one two three four five" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    for (const c of chunks) {
      expect(c.object).toBe("chat.completion.chunk");
      expect(c.id).toBe(chunks[0]?.id);
      expect(c.model).toBe("gpt-4o-mini");
    }
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("echo: one two three four five");
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6 });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("assembles a streamed answer with the SDK's stream helper", async () => {
    fake.script({ reply: { text: "Grüße, 世界! 🌍 done", usage: { input: 120, cachedInput: 64, reasoning: 9, output: 30 } } });
    const runner = client.chat.completions.stream({ model: "o4-mini", messages: [{ role: "user", content: "hi" }], stream_options: { include_usage: true } });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe("Grüße, 世界! 🌍 done");
    expect(final.usage).toMatchObject({
      prompt_tokens: 120,
      completion_tokens: 30,
      prompt_tokens_details: { cached_tokens: 64 },
      completion_tokens_details: { reasoning_tokens: 9 },
    });
  });

  it("returns parallel tool calls in a unary answer", async () => {
    fake.script({
      reply: {
        toolCalls: [
          { id: "call_a", name: "get_weather", argumentsJson: '{"city":"Paris"}' },
          { id: "call_b", name: "get_weather", argumentsJson: '{"city":"Tokyo"}' },
        ],
      },
    });
    const res = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "weather?" }], tools: [weatherTool], parallel_tool_calls: true });
    const msg = res.choices[0]!.message;
    expect(msg.content).toBeNull();
    expect(res.choices[0]?.finish_reason).toBe("tool_calls");
    expect(msg.tool_calls).toEqual([
      { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "call_b", type: "function", function: { name: "get_weather", arguments: '{"city":"Tokyo"}' } },
    ]);
  });

  it("streams tool-call argument deltas the SDK reassembles (and parses, for strict tools)", async () => {
    fake.script({
      reply: {
        toolCalls: [
          { id: "call_a", name: "get_weather", argumentsJson: '{"city":"São Paulo"}' },
          { id: "call_b", name: "get_weather", argumentsJson: '{"city":"Zürich"}' },
        ],
      },
    });
    const deltas: Array<{ index: number; arguments: string }> = [];
    const runner = client.chat.completions.stream({ model: "gpt-4o", messages: [{ role: "user", content: "weather?" }], tools: [weatherTool] });
    runner.on("tool_calls.function.arguments.delta", (e) => deltas.push({ index: e.index, arguments: e.arguments_delta }));
    const final = await runner.finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((c) => c.type === "function" && [c.id, c.function.name, c.function.arguments, c.function.parsed_arguments])).toEqual([
      ["call_a", "get_weather", '{"city":"São Paulo"}', { city: "São Paulo" }],
      ["call_b", "get_weather", '{"city":"Zürich"}', { city: "Zürich" }],
    ]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(deltas.filter((d) => d.index === 0).length).toBeGreaterThan(1);
  });

  it("answers a json_schema request with the scripted text, which the SDK parses", async () => {
    fake.script({ reply: { text: '{"name":"Ada","age":36}' } });
    const res = await client.chat.completions.parse({
      model: "gpt-4o",
      messages: [{ role: "user", content: "extract" }],
      response_format: { type: "json_schema", json_schema: { name: "person", schema: { type: "object", properties: { name: { type: "string" }, age: { type: "number" } } }, strict: true } },
    });
    expect(res.choices[0]?.message.parsed).toEqual({ name: "Ada", age: 36 });
    expect((fake.requests()[0]?.body as { response_format: unknown }).response_format).toMatchObject({ type: "json_schema", json_schema: { name: "person", strict: true } });
  });

  it("truncates at max_completion_tokens with finish_reason length", async () => {
    const res = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "a b c d e f g" }], max_completion_tokens: 3 });
    expect(res.choices[0]?.message.content).toBe("echo: a b");
    expect(res.choices[0]?.finish_reason).toBe("length");
    expect(res.usage?.completion_tokens).toBe(3);
  });

  it("serves embeddings in base64 (the SDK default) and as floats", async () => {
    const b64 = await client.embeddings.create({ model: "text-embedding-3-small", input: ["alpha beta", "gamma"], dimensions: 4 });
    expect(b64.object).toBe("list");
    expect(b64.data.map((d) => d.index)).toEqual([0, 1]);
    expect(b64.data[0]?.embedding).toHaveLength(4);
    fakeVector("alpha beta", 4).forEach((v, i) => expect(b64.data[0]?.embedding[i]).toBeCloseTo(v, 5));
    expect(b64.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const floats = await client.embeddings.create({ model: "text-embedding-3-small", input: "alpha beta", encoding_format: "float" });
    expect(floats.data[0]?.embedding).toEqual(fakeVector("alpha beta", 8));
  });

  it("raises RateLimitError on 429 with retry-after and the rate-limit headers visible", async () => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterSeconds: 2, retryAfterMs: 1500 } });
    const err = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const e = err as RateLimitError;
    expect(e.status).toBe(429);
    expect(e.code).toBe("rate_limit_exceeded");
    expect(e.type).toBe("requests");
    expect(e.headers?.get("retry-after")).toBe("2");
    expect(e.headers?.get("retry-after-ms")).toBe("1500");
    expect(e.headers?.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(e.requestID).toMatch(/^req_/);
    expect(fake.truth()).toEqual([]);
  });

  it("answers 400 on stop with more than OpenAI's 4 sequences, as OpenAI does, and takes 4", async () => {
    const messages = [{ role: "user" as const, content: "hello" }];
    const err = await client.chat.completions.create({ model: "gpt-4o-mini", messages, stop: ["a", "b", "c", "d", "e"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).param).toBe("stop");
    expect(fake.truth()).toEqual([]);
    const ok = await client.chat.completions.create({ model: "gpt-4o-mini", messages, stop: ["a", "b", "c", "d"] });
    expect(ok.choices[0]?.finish_reason).toBe("stop");
  });

  it("answers 400 on a reasoning_effort the model does not take, in OpenAI's envelopes, and takes it where it does", async () => {
    const messages = [{ role: "user" as const, content: "hello" }];
    const refusal = (model: string, reasoning_effort: "minimal" | "high") =>
      client.chat.completions.create({ model, messages, reasoning_effort }).then(
        () => undefined,
        (e: unknown) => e as BadRequestError,
      );
    for (const model of ["gpt-4o", "gpt-4.1-mini", "gpt-3.5-turbo", "chatgpt-4o-latest", "gpt-5-chat-latest", "ft:gpt-4o-mini-2024-07-18:acme::abc123"]) {
      const err = await refusal(model, "high");
      expect(err, model).toBeInstanceOf(BadRequestError);
      expect([err?.message, err?.type, err?.param, err?.code]).toEqual(["400 Unrecognized request argument supplied: reasoning_effort", "invalid_request_error", null, null]);
    }
    const mini = await refusal("o1-mini", "high");
    expect([mini?.status, mini?.param, mini?.code]).toEqual([400, "reasoning_effort", "unsupported_parameter"]);
    const minimal = await refusal("gpt-5.1", "minimal");
    expect([minimal?.status, minimal?.param, minimal?.code]).toEqual([400, "reasoning_effort", "unsupported_value"]);
    expect(minimal?.message).toContain("Supported values are: 'none', 'low', 'medium', and 'high'.");
    expect((await refusal("o3", "minimal"))?.code).toBe("unsupported_value");
    expect(fake.truth()).toEqual([]);
    for (const [model, effort] of [["o4-mini", "high"], ["gpt-5-mini", "minimal"], ["gpt-5.1", "high"], ["my-deployment", "high"]] as const) {
      expect(await refusal(model, effort), model).toBeUndefined();
    }
  });

  it("raises BadRequestError on a context-length 400", async () => {
    fake.script({ fault: { kind: "status", status: 400, errorType: "context_length_exceeded" } });
    const err = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).code).toBe("context_length_exceeded");
    expect((err as BadRequestError).param).toBe("messages");
    expect((err as BadRequestError).type).toBe("invalid_request_error");
  });

  it("raises AuthenticationError on 401 and InternalServerError on 500", async () => {
    fake.script({ fault: { kind: "status", status: 401 } }, { fault: { kind: "status", status: 500 } });
    await expect(client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(InternalServerError);
  });

  it("raises APIError for an in-stream error event", async () => {
    fake.script({ fault: { kind: "mid_stream_error" } });
    const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "a b c d e f" }], stream: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).type).toBe("server_error");
    expect(seen.join("")).toBe("echo: a ");
  });
});
