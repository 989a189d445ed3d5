import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../../test/fakes/anthropic-fake.js";
import type { FakeProvider, Fault } from "../../test/fakes/fake-types.js";
import { createAnthropicProvider } from "./anthropic.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import type { ModelChunk, ModelRequest } from "./model.js";
import type { CallContext, Provider } from "./provider.js";
import { ProviderError } from "./provider-error.js";
import { abortAtText, collect, providerFailure } from "./provider-calls.testing.js";

const MODEL = "claude-sonnet-5-5";
/** A model that takes `temperature` and `top_p` together (MODEL's generation takes neither). */
const SAMPLING_MODEL = "claude-sonnet-4-20250514";
const API_KEY = "sk-ant-api03-CANARY-KEY-91c4";
const BODY_CANARY = "RAW-BODY-CANARY-3d7e";
const weather = { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

let fake: FakeProvider;
let http: HttpClient;
let provider: Provider;

beforeAll(async () => {
  fake = await startAnthropicFake();
  http = createHttpClient();
  provider = createAnthropicProvider({ baseUrl: `${fake.url}/`, http });
});
afterAll(async () => {
  await http.close();
  await fake.close();
});
beforeEach(() => fake.reset());

function ctx(signal: AbortSignal = AbortSignal.timeout(10_000)): CallContext {
  return { signal, apiKey: API_KEY };
}

function ask(text: string, extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: MODEL, messages: [{ role: "user", content: [{ type: "text", text }] }], ...extra };
}

/** The call's ProviderError, which names neither the API key nor the raw body. */
async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const pe = await providerFailure(p);
  for (const text of [pe.message, String(pe.cause)]) {
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(BODY_CANARY);
  }
  return pe;
}

function lastBody(): Record<string, unknown> {
  return fake.requests().at(-1)!.body as Record<string, unknown>;
}

describe("anthropic adapter: request mapping", () => {
  it("sends the headers, the default max_tokens and the system prompt at top level", async () => {
    await provider.chat(
      {
        model: SAMPLING_MODEL,
        messages: [
          { role: "system", content: [{ type: "text", text: "be brief" }] },
          { role: "user", content: [{ type: "text", text: "hello" }] },
        ],
        temperature: 0.2,
        topP: 0.9,
        stop: ["END"],
        seed: 7,
      },
      ctx(),
    );
    const req = fake.requests()[0]!;
    expect(req.path).toBe("/v1/messages");
    expect(req.headers["x-api-key"]).toBe(API_KEY);
    expect(req.headers["anthropic-version"]).toBe("2023-06-01");
    expect(req.body).toEqual({
      model: SAMPLING_MODEL,
      max_tokens: 4096,
      system: [{ type: "text", text: "be brief" }],
      messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ["END"],
    });
  });

  it("leaves out the sampling controls the model refuses, which answers at its default (unary and streamed)", async () => {
    const sampled = (model: string, sampling: Partial<ModelRequest>) => ask("why is the sky blue", { model, ...sampling });
    const sent = () => {
      const body = lastBody();
      return { temperature: body.temperature, top_p: body.top_p };
    };
    // From Opus 4.7 on, neither (the API: "`temperature` is deprecated for this model."), a later
    // Claude id no list names yet included.
    for (const model of ["claude-opus-4-7", "claude-opus-4-8-20260601", "claude-mythos-preview", "claude-fable-5-1", "claude-sonnet-5", MODEL, "claude-haiku-5-5", "claude-opus-9"]) {
      const res = await provider.chat(sampled(model, { temperature: 0.2, topP: 0.9 }), ctx());
      expect(res.text, model).toBe("echo: why is the sky blue");
      expect(sent(), model).toEqual({ temperature: undefined, top_p: undefined });
      const chunks = await collect(provider.chatStream(sampled(model, { temperature: 0 }), ctx()));
      expect(chunks, model).toContainEqual({ type: "finish", reason: "stop" });
      expect(sent(), model).toEqual({ temperature: undefined, top_p: undefined });
    }
    // Opus 4.1 through the 4.6 models: either, not both; temperature is kept.
    for (const model of ["claude-opus-4-1-20250805", "claude-sonnet-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-5", "claude-sonnet-4-6", "claude-opus-4-6"]) {
      await expect(provider.chat(sampled(model, { temperature: 0.2, topP: 0.9 }), ctx()), model).resolves.toMatchObject({ text: "echo: why is the sky blue" });
      expect(sent(), model).toEqual({ temperature: 0.2, top_p: undefined });
      await collect(provider.chatStream(sampled(model, { topP: 0.9 }), ctx()));
      expect(sent(), model).toEqual({ temperature: undefined, top_p: 0.9 });
    }
    // The models before them, and an id not named as Claude's are, get both as asked.
    for (const model of ["claude-3-7-sonnet-20250219", "claude-3-5-haiku-latest", "claude-sonnet-4-0", "claude-opus-4-20250514", "claude-2.1", "my-model"]) {
      await provider.chat(sampled(model, { temperature: 0.2, topP: 0.9 }), ctx());
      expect(sent(), model).toEqual({ temperature: 0.2, top_p: 0.9 });
    }
  });

  it("merges same-role turns, maps tool history and images, tool_result first", async () => {
    const png = new Uint8Array([137, 80, 78, 71]);
    await provider.chat(
      {
        model: MODEL,
        maxOutputTokens: 100,
        messages: [
          { role: "user", content: [{ type: "text", text: "look" }, { type: "image", data: png, mimeType: "image/png" }] },
          { role: "user", content: [{ type: "image", url: "https://example.com/cat.jpg" }, { type: "image", url: "data:image/gif;base64,R0lGOD" }] },
          {
            role: "assistant",
            content: [{ type: "text", text: "checking" }],
            toolCalls: [
              { id: "toolu_1", name: "get_weather", argumentsJson: '{"city":"Paris"}' },
              { id: "toolu_2", name: "now", argumentsJson: "" },
            ],
          },
          { role: "tool", toolCallId: "toolu_1", name: "get_weather", content: [{ type: "text", text: "sunny" }] },
          { role: "user", content: [{ type: "text", text: "and?" }] },
          { role: "tool", toolCallId: "toolu_2", content: [] },
        ],
      },
      ctx(),
    );
    expect(lastBody().messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "look" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: Buffer.from(png).toString("base64") } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
          { type: "image", source: { type: "base64", media_type: "image/gif", data: "R0lGOD" } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "text", text: "checking" },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_2", name: "now", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "sunny" }] },
          { type: "tool_result", tool_use_id: "toolu_2" },
          { type: "text", text: "and?" },
        ],
      },
    ]);
  });

  it("maps tools and every tool choice, with disable_parallel_tool_use", async () => {
    const cases: Array<[Partial<ModelRequest>, unknown]> = [
      [{}, undefined],
      [{ parallelToolCalls: false }, { type: "auto", disable_parallel_tool_use: true }],
      [{ toolChoice: { type: "auto" } }, { type: "auto" }],
      [{ toolChoice: { type: "required" }, parallelToolCalls: false }, { type: "any", disable_parallel_tool_use: true }],
      [{ toolChoice: { type: "tool", name: "get_weather" } }, { type: "tool", name: "get_weather" }],
      [{ toolChoice: { type: "none" }, parallelToolCalls: false }, { type: "none" }],
    ];
    for (const [extra, expected] of cases) {
      await provider.chat(ask("hi", { tools: [{ ...weather, strict: true }, { name: "now" }], ...extra }), ctx());
      const body = lastBody();
      expect(body.tools).toEqual([
        { name: "get_weather", description: "Weather for a city", input_schema: weather.parameters, strict: true },
        { name: "now", input_schema: { type: "object", properties: {} } },
      ]);
      expect(body.tool_choice).toEqual(expected);
    }
  });

  it("declares its capabilities (JSON output through a synthetic tool: anthropic-structured-output.test.ts) and no embeddings", async () => {
    expect(provider.capabilities).toMatchObject({ jsonSchema: true, jsonObject: true, embeddings: false, tools: true, streaming: true, vision: true });
    expect(provider.embed).toBeUndefined();
    fake.script({ reply: { text: '{"total":42}' } });
    const schema = { type: "object", properties: { total: { type: "number" } } };
    const res = await provider.chat(ask("extract", { responseFormat: { type: "json_schema", name: "invoice", schema, strict: true } }), ctx());
    expect(JSON.parse(res.text)).toEqual({ total: 42 });
    expect(Object.keys(lastBody()).sort()).toEqual(["max_tokens", "messages", "model", "tool_choice", "tools"]);
  });

  it("refuses content the wire cannot carry before sending anything", async () => {
    const bad: ModelRequest[] = [
      { model: MODEL, messages: [{ role: "tool", content: [{ type: "text", text: "x" }] }] },
      { model: MODEL, messages: [{ role: "user", content: [{ type: "image", data: new Uint8Array([1]) }] }] },
      { model: MODEL, messages: [{ role: "system", content: [{ type: "image", url: "https://x/y.png" }] }] },
      { model: MODEL, messages: [{ role: "assistant", content: [], toolCalls: [{ id: "t", name: "n", argumentsJson: "[1]" }] }] },
    ];
    for (const req of bad) expect((await failure(provider.chat(req, ctx()))).kind).toBe("bad_request");
    expect(fake.requests()).toHaveLength(0);
  });
});

describe("anthropic adapter: answers", () => {
  it("answers text with exact usage, cache and thinking tokens included", async () => {
    fake.script({ reply: { text: "the answer", usage: { input: 1200, output: 30, cachedInput: 1000, cacheWrite: 150, reasoning: 20 } } });
    const res = await provider.chat(ask("q"), ctx());
    expect(res).toMatchObject({ text: "the answer", toolCalls: [], finishReason: "stop", model: MODEL });
    expect(res.providerRequestId).toMatch(/^req_01/);
    expect(res.usage).toEqual({ inputTokens: 1200, outputTokens: 30, cachedInputTokens: 1000, cacheWriteInputTokens: 150, reasoningTokens: 20, estimated: false });
    const truth = fake.truth()[0]!;
    expect([truth.inputTokens, truth.outputTokens, truth.cachedInputTokens, truth.cacheWriteInputTokens]).toEqual([1200, 30, 1000, 150]);
  });

  it("maps stop reasons", async () => {
    fake.script({ reply: { text: "one two three four" } }, { reply: { text: "no", finishReason: "content_filter" } }, { reply: { text: "a STOP b" } });
    expect((await provider.chat(ask("q", { maxOutputTokens: 2 }), ctx())).finishReason).toBe("length");
    expect((await provider.chat(ask("q"), ctx())).finishReason).toBe("content_filter");
    const stopped = await provider.chat(ask("q", { stop: ["STOP"] }), ctx());
    expect([stopped.finishReason, stopped.text]).toEqual(["stop", "a "]);
  });

  it("returns parallel tool calls", async () => {
    fake.script({
      reply: {
        toolCalls: [
          { id: "toolu_A", name: "get_weather", argumentsJson: '{"city":"Paris"}' },
          { id: "toolu_B", name: "get_weather", argumentsJson: '{"city":"Oslo"}' },
        ],
      },
    });
    const res = await provider.chat(ask("weather?", { tools: [weather] }), ctx());
    expect(res.finishReason).toBe("tool_calls");
    expect(res.toolCalls).toEqual([
      { id: "toolu_A", name: "get_weather", argumentsJson: '{"city":"Paris"}' },
      { id: "toolu_B", name: "get_weather", argumentsJson: '{"city":"Oslo"}' },
    ]);
  });

  it("estimates usage when the answer carries none", async () => {
    fake.script({ reply: { text: "twelve chars" }, fault: { kind: "missing_usage" } });
    const res = await provider.chat(ask("sixteen chars!!!"), ctx());
    expect(res.usage).toEqual({ inputTokens: 4, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });

  it("passes through output beyond max_tokens as the provider reports it", async () => {
    fake.script({ fault: { kind: "overrun_max_tokens" } });
    const res = await provider.chat(ask("q", { maxOutputTokens: 5 }), ctx());
    expect(res.usage.outputTokens).toBeGreaterThan(5);
    expect(res.usage.outputTokens).toBe(fake.truth()[0]!.outputTokens);
  });
});

describe("anthropic adapter: streams", () => {
  it("streams start, text, finish and exact usage", async () => {
    fake.script({ reply: { text: "a streamed answer in several pieces", usage: { input: 50, output: 6, cachedInput: 30, cacheWrite: 10 } } });
    const chunks = await collect(provider.chatStream(ask("go"), ctx()));
    const first = chunks[0]!;
    expect(first.type).toBe("start");
    if (first.type === "start") {
      expect(first.model).toBe(MODEL);
      expect(first.providerRequestId).toMatch(/^req_01/);
    }
    expect(chunks.filter((c) => c.type === "text").length).toBeGreaterThan(1);
    expect(chunks.map((c) => (c.type === "text" ? c.text : "")).join("")).toBe("a streamed answer in several pieces");
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 50, outputTokens: 6, cachedInputTokens: 30, cacheWriteInputTokens: 10, reasoningTokens: 0, estimated: false } },
    ]);
    expect(lastBody().stream).toBe(true);
    expect(fake.requests()[0]!.headers.accept).toBe("text/event-stream");
  });

  it("indexes streamed tool calls by tool_use order, not content block index", async () => {
    fake.script({
      reply: {
        text: "Checking.",
        toolCalls: [
          { id: "toolu_A", name: "get_weather", argumentsJson: '{"city":"Paris","unit":"celsius"}' },
          { id: "toolu_B", name: "now", argumentsJson: "" },
        ],
      },
    });
    const chunks = await collect(provider.chatStream(ask("weather?", { tools: [weather, { name: "now" }] }), ctx()));
    const calls = chunks.filter((c) => c.type === "tool_call");
    expect(calls[0]).toEqual({ type: "tool_call", index: 0, id: "toolu_A", name: "get_weather", argumentsDelta: "" });
    expect(calls.filter((c) => c.index === 0).length).toBeGreaterThan(2);
    expect(calls.filter((c) => c.index === 0 && c.id !== undefined)).toHaveLength(1);
    expect(calls.filter((c) => c.index === 0).map((c) => c.argumentsDelta).join("")).toBe('{"city":"Paris","unit":"celsius"}');
    expect(calls.filter((c) => c.index === 1)).toEqual([
      { type: "tool_call", index: 1, id: "toolu_B", name: "now", argumentsDelta: "" },
      { type: "tool_call", index: 1, argumentsDelta: "{}" },
    ]);
    expect(chunks.find((c) => c.type === "finish")).toEqual({ type: "finish", reason: "tool_calls" });
  });

  it("decodes UTF-8 split across writes exactly", async () => {
    const text = "naïve café — 😀 日本語 ok";
    fake.script({ reply: { text }, fault: { kind: "split_utf8" } });
    const chunks = await collect(provider.chatStream(ask("go"), ctx()));
    expect(chunks.map((c) => (c.type === "text" ? c.text : "")).join("")).toBe(text);
  });

  it("estimates usage when the stream reports none", async () => {
    fake.script({ reply: { text: "exactly twenty chars" }, fault: { kind: "missing_usage" } });
    const chunks = await collect(provider.chatStream(ask("go"), ctx()));
    expect(chunks.find((c) => c.type === "usage")).toEqual({
      type: "usage",
      usage: { inputTokens: 1, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true },
    });
  });

  for (const [label, fault, kind] of [
    ["a cut stream", { kind: "cut" }, "stream_error"],
    ["a malformed event", { kind: "malformed_sse" }, "stream_error"],
    ["an in-stream overloaded_error", { kind: "mid_stream_error" }, "overloaded"],
  ] as Array<[string, Fault, string]>) {
    it(`fails ${label} as ${kind}, with no finish`, async () => {
      fake.script({ reply: { text: "one two three four five six seven eight" }, fault });
      const chunks: ModelChunk[] = [];
      const err = await failure(
        (async () => {
          for await (const c of provider.chatStream(ask("go"), ctx())) chunks.push(c);
        })(),
      );
      expect(err.kind).toBe(kind);
      if (kind === "overloaded") expect(err.providerCode).toBe("overloaded_error");
      expect(chunks.some((c) => c.type === "finish" || c.type === "usage")).toBe(false);
    });
  }

  it("times out a stream that stalls after the first event", async () => {
    const stalling = createAnthropicProvider({ baseUrl: fake.url, http, idleTimeoutMs: 200 });
    fake.script({ fault: { kind: "stall_after_first_chunk" } });
    const err = await failure(collect(stalling.chatStream(ask("go"), ctx())));
    expect(err.kind).toBe("timeout");
  });

  it("stops the upstream request within 500 ms (the drip would run on for over 1.5 s) of an abort mid-stream", async () => {
    fake.script({ reply: { text: "a b c d e f g h i j k l" }, fault: { kind: "slow_drip", delayMs: 150 } });
    const controller = new AbortController();
    const cut = abortAtText(provider.chatStream(ask("go"), ctx(controller.signal)), controller);
    const err = await failure(cut.read);
    expect(err.kind).toBe("cancelled");
    await expect.poll(() => fake.requests()[0]!.abortedAt, { timeout: 1_000, interval: 5 }).toBeDefined();
    expect(fake.requests()[0]!.abortedAt! - cut.abortedAt).toBeLessThan(500);
    await expect.poll(() => fake.truth()[0]?.delivered, { timeout: 1_000, interval: 5 }).toBe("partial");
  });

  it("closes the upstream request when the consumer stops reading", async () => {
    fake.script({ reply: { text: "a b c d e f g h i j k l" }, fault: { kind: "slow_drip", delayMs: 150 } });
    for await (const c of provider.chatStream(ask("go"), ctx())) if (c.type === "text") break;
    await expect.poll(() => fake.requests()[0]!.abortedAt, { timeout: 1_000, interval: 5 }).toBeDefined();
  });
});

describe("anthropic adapter: errors", () => {
  const cases: Array<[string, Fault, string, Partial<ProviderError>]> = [
    ["429 with retry-after", { kind: "status", status: 429, retryAfterSeconds: 7, message: BODY_CANARY }, "rate_limited", { retryAfterMs: 7000, providerCode: "rate_limit_error" }],
    ["500", { kind: "status", status: 500, message: BODY_CANARY }, "server_error", { providerCode: "api_error" }],
    ["503", { kind: "status", status: 503, message: BODY_CANARY }, "server_error", {}],
    ["503 saying overloaded_error", { kind: "status", status: 503, errorType: "overloaded_error", message: BODY_CANARY }, "overloaded", {}],
    ["529", { kind: "status", status: 529, retryAfterSeconds: 2, message: BODY_CANARY }, "overloaded", { retryAfterMs: 2000, providerCode: "overloaded_error" }],
    ["504 timeout_error", { kind: "status", status: 504, message: BODY_CANARY }, "timeout", {}],
    ["400 prompt is too long", { kind: "status", status: 400, message: `prompt is too long: 210000 tokens > 200000 maximum ${BODY_CANARY}` }, "context_length", {}],
    ["400 context limit", { kind: "status", status: 400, message: "input length and `max_tokens` exceed context limit: 199000 + 21333 > 200000" }, "context_length", {}],
    ["400 other", { kind: "status", status: 400, message: BODY_CANARY }, "bad_request", { providerCode: "invalid_request_error" }],
    ["413 request_too_large", { kind: "status", status: 413, message: BODY_CANARY }, "bad_request", { providerCode: "request_too_large" }],
    ["401", { kind: "status", status: 401, message: `${BODY_CANARY} ${API_KEY}` }, "auth", {}],
    ["403", { kind: "status", status: 403, message: BODY_CANARY }, "auth", { providerCode: "permission_error" }],
    ["404", { kind: "status", status: 404, message: BODY_CANARY }, "not_found", {}],
  ];
  for (const [label, fault, kind, extra] of cases) {
    it(`classifies ${label} as ${kind}, unary and streamed`, async () => {
      for (const call of [() => provider.chat(ask("hi"), ctx()), () => collect(provider.chatStream(ask("hi"), ctx()))]) {
        fake.reset();
        fake.script({ fault });
        const err = await failure(call());
        expect(err.kind).toBe(kind);
        expect(err.httpStatus).toBe(fault.kind === "status" ? fault.status : undefined);
        expect(err).toMatchObject(extra);
      }
    });
  }

  it("classifies a refused connection", async () => {
    fake.script({ fault: { kind: "refuse" } });
    expect((await failure(provider.chat(ask("hi"), ctx()))).kind).toBe("connection");
  });

  it("times out a request that never answers", async () => {
    const impatient = createAnthropicProvider({ baseUrl: fake.url, http, headersTimeoutMs: 200 });
    fake.script({ fault: { kind: "hang" } });
    const started = Date.now();
    expect((await failure(impatient.chat(ask("hi"), ctx()))).kind).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("is cancelled at once by an aborted signal", async () => {
    fake.script({ fault: { kind: "hang" } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect((await failure(provider.chat(ask("hi"), ctx(controller.signal)))).kind).toBe("cancelled");
    await expect.poll(() => fake.requests()[0]?.abortedAt, { timeout: 1_000, interval: 5 }).toBeDefined();
  });

  it("reports a missing credential as auth", async () => {
    const err = await failure(provider.chat(ask("hi"), { signal: AbortSignal.timeout(10_000) }));
    expect(err.kind).toBe("auth");
  });
});
