import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fakeVector } from "../../test/fakes/fake-text.js";
import type { FakeProvider, Fault } from "../../test/fakes/fake-types.js";
import { startOpenAIFake } from "../../test/fakes/openai-fake.js";
import { startRecordingServer } from "../../test/support/recording-server.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import type { ModelChunk, ModelRequest } from "./model.js";
import { createOpenAIProvider, OPENAI_CAPABILITIES, OPENAI_LIMITS } from "./openai.js";
import { classifyHttpError, classifyStreamError } from "./openai/errors.js";
import type { Provider } from "./provider.js";
import { ProviderError } from "./provider-error.js";
import { abortAtText, collect, providerFailure } from "./provider-calls.testing.js";

const API_KEY = "sk-canary-0penai-7f3a9c";
const BODY_CANARY = "RAW-BODY-CANARY-5521";

let fake: FakeProvider;
let http: HttpClient;
let provider: Provider;

beforeAll(async () => {
  fake = await startOpenAIFake();
  http = createHttpClient();
  provider = createOpenAIProvider({ baseUrl: `${fake.url}/v1`, http, headersTimeoutMs: 300, idleTimeoutMs: 300 });
});
afterAll(async () => {
  await http.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const ctx = (signal: AbortSignal = new AbortController().signal) => ({ signal, apiKey: API_KEY });
const ask = (text: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({ model: "gpt-4o-mini", messages: [{ role: "user", content: [{ type: "text", text }] }], ...extra });

const textOf = (chunks: ModelChunk[]) => chunks.map((c) => (c.type === "text" ? c.text : "")).join("");
const body = (i = 0) => fake.requests()[i]?.body as Record<string, unknown>;

describe("openai adapter: chat", () => {
  it("declares its capabilities as data", () => {
    expect(provider.kind).toBe("openai");
    expect(provider.capabilities).toEqual(OPENAI_CAPABILITIES);
    expect(provider.embed).toBeTypeOf("function");
  });

  it("declares OpenAI's documented bounds: 4 stop sequences, and the sizes its embedding models can give", () => {
    expect(provider.limits).toEqual(OPENAI_LIMITS);
    expect(OPENAI_LIMITS.maxStopSequences).toBe(4);
    expect(OPENAI_LIMITS.embeddingModels).toMatchObject({
      "text-embedding-3-small": { dimensions: 1536, minDimensions: 1 },
      "text-embedding-3-large": { dimensions: 3072, minDimensions: 1 },
      "text-embedding-ada-002": { dimensions: 1536 },
    });
    expect(OPENAI_LIMITS.embeddingModels?.["text-embedding-ada-002"]).not.toHaveProperty("minDimensions");
  });

  it("answers a unary call with text, usage, model and the request id", async () => {
    const res = await provider.chat(ask("hello there world", { maxOutputTokens: 50, temperature: 0.2 }), ctx());
    expect(res).toMatchObject({ text: "echo: hello there world", toolCalls: [], finishReason: "stop", model: "gpt-4o-mini" });
    expect(res.usage).toEqual({ inputTokens: 3, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false });
    expect(res.providerRequestId).toMatch(/^req_[0-9a-f]{32}$/);
    const req = fake.requests()[0]!;
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(body()).toEqual({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there world" }], max_completion_tokens: 50, temperature: 0.2 });
  });

  it("maps every message kind, images, tools, tool choice and parallel tool calls to the wire", async () => {
    const png = new Uint8Array([137, 80, 78, 71]);
    await provider.chat(
      {
        model: "gpt-4o",
        messages: [
          { role: "system", content: [{ type: "text", text: "be brief" }] },
          { role: "user", name: "ada", content: [{ type: "text", text: "what is this?" }, { type: "image", url: "https://x.test/a.png" }, { type: "image", data: png, mimeType: "image/png" }] },
          { role: "assistant", content: [], toolCalls: [{ id: "call_1", name: "lookup", argumentsJson: '{"q":"png"}' }] },
          { role: "tool", toolCallId: "call_1", name: "lookup", content: [{ type: "text", text: "a picture" }] },
        ],
        tools: [{ name: "lookup", description: "search", parameters: { type: "object", properties: { q: { type: "string" } } }, strict: true }],
        toolChoice: { type: "tool", name: "lookup" },
        parallelToolCalls: false,
        stop: ["END"],
        seed: 7,
        topP: 0.9,
      },
      ctx(),
    );
    expect(body()).toEqual({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          name: "ada",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: "https://x.test/a.png" } },
            { type: "image_url", image_url: { url: `data:image/png;base64,${Buffer.from(png).toString("base64")}` } },
          ],
        },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":"png"}' } }] },
        { role: "tool", content: "a picture", tool_call_id: "call_1" },
      ],
      tools: [{ type: "function", function: { name: "lookup", description: "search", parameters: { type: "object", properties: { q: { type: "string" } } }, strict: true } }],
      tool_choice: { type: "function", function: { name: "lookup" } },
      parallel_tool_calls: false,
      stop: ["END"],
      seed: 7,
      top_p: 0.9,
    });
  });

  it("maps json_schema and json_object response formats", async () => {
    fake.script({ reply: { text: '{"name":"Ada"}' } }, { reply: { text: "{}" } });
    const schema = { type: "object", properties: { name: { type: "string" } }, required: ["name"], additionalProperties: false };
    const res = await provider.chat(ask("extract", { responseFormat: { type: "json_schema", name: "person", schema, strict: true } }), ctx());
    expect(JSON.parse(res.text)).toEqual({ name: "Ada" });
    expect(body(0).response_format).toEqual({ type: "json_schema", json_schema: { name: "person", schema, strict: true } });
    await provider.chat(ask("json", { responseFormat: { type: "json_object" } }), ctx());
    expect(body(1).response_format).toEqual({ type: "json_object" });
  });

  it("returns parallel tool calls from a unary answer", async () => {
    fake.script({ reply: { toolCalls: [{ id: "call_a", name: "get_weather", argumentsJson: '{"city":"Paris"}' }, { id: "call_b", name: "get_time", argumentsJson: '{"tz":"JST"}' }] } });
    const res = await provider.chat(ask("weather and time", { tools: [{ name: "get_weather" }, { name: "get_time" }], parallelToolCalls: true }), ctx());
    expect(res.text).toBe("");
    expect(res.finishReason).toBe("tool_calls");
    expect(res.toolCalls).toEqual([
      { id: "call_a", name: "get_weather", argumentsJson: '{"city":"Paris"}' },
      { id: "call_b", name: "get_time", argumentsJson: '{"tz":"JST"}' },
    ]);
    expect(body().parallel_tool_calls).toBe(true);
  });

  it("maps usage with cached and reasoning tokens exactly", async () => {
    fake.script({ reply: { text: "ok", usage: { input: 1200, cachedInput: 1024, reasoning: 300, output: 340 } } });
    const res = await provider.chat(ask("think"), ctx());
    expect(res.usage).toEqual({ inputTokens: 1200, outputTokens: 340, cachedInputTokens: 1024, cacheWriteInputTokens: 0, reasoningTokens: 300, estimated: false });
  });

  it("reports finish reasons length and content_filter", async () => {
    const cut = await provider.chat(ask("a b c d e f g", { maxOutputTokens: 2 }), ctx());
    expect(cut).toMatchObject({ text: "echo: a", finishReason: "length" });
    fake.script({ reply: { text: "", finishReason: "content_filter" } });
    expect((await provider.chat(ask("bad"), ctx())).finishReason).toBe("content_filter");
  });

  it("estimates usage when a unary answer has none", async () => {
    fake.script({ fault: { kind: "missing_usage" } });
    const res = await provider.chat(ask("12345678"), ctx()); // 8 chars in, "echo: 12345678" = 14 chars out
    expect(res.usage).toEqual({ inputTokens: 2, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });

  it("passes on a provider that ignores max tokens (the usage says so)", async () => {
    fake.script({ fault: { kind: "overrun_max_tokens" } });
    const res = await provider.chat(ask("hi", { maxOutputTokens: 4 }), ctx());
    expect(res.usage.outputTokens).toBeGreaterThan(4);
    expect(res.usage.outputTokens).toBe(fake.truth()[0]?.outputTokens);
  });
});

describe("openai adapter: streaming", () => {
  it("streams start, text, then finish and usage, with stream_options.include_usage", async () => {
    const chunks = await collect(provider.chatStream(ask("one two three four five"), ctx()));
    expect(chunks[0]).toEqual({ type: "start", model: "gpt-4o-mini", providerRequestId: expect.stringMatching(/^req_/) as string });
    expect(textOf(chunks)).toBe("echo: one two three four five");
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 6, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false } },
    ]);
    expect(chunks.filter((c) => c.type === "finish" || c.type === "usage")).toHaveLength(2);
    expect(body()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(fake.requests()[0]?.headers.accept).toBe("text/event-stream");
  });

  it("streams usage exactly (cached, reasoning)", async () => {
    fake.script({ reply: { text: "fine", usage: { input: 50, cachedInput: 32, reasoning: 12, output: 13 } } });
    const chunks = await collect(provider.chatStream(ask("x"), ctx()));
    expect(chunks.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 50, outputTokens: 13, cachedInputTokens: 32, cacheWriteInputTokens: 0, reasoningTokens: 12, estimated: false } });
  });

  it("streams parallel tool calls: id and name first, argument deltas per index", async () => {
    fake.script({
      reply: {
        toolCalls: [
          { id: "call_a", name: "get_weather", argumentsJson: '{"city":"São Paulo","unit":"celsius"}' },
          { id: "call_b", name: "get_weather", argumentsJson: '{"city":"東京"}' },
        ],
      },
    });
    const chunks = await collect(provider.chatStream(ask("weather", { tools: [{ name: "get_weather" }] }), ctx()));
    const calls = chunks.filter((c): c is Extract<ModelChunk, { type: "tool_call" }> => c.type === "tool_call");
    for (const index of [0, 1]) {
      const mine = calls.filter((c) => c.index === index);
      expect(mine.length).toBeGreaterThan(2);
      expect(mine[0]).toMatchObject({ id: index === 0 ? "call_a" : "call_b", name: "get_weather" });
      expect(mine.slice(1).every((c) => c.id === undefined && c.name === undefined)).toBe(true);
    }
    const args = (i: number) => calls.filter((c) => c.index === i).map((c) => c.argumentsDelta).join("");
    expect(JSON.parse(args(0))).toEqual({ city: "São Paulo", unit: "celsius" });
    expect(JSON.parse(args(1))).toEqual({ city: "東京" });
    expect(chunks.find((c) => c.type === "finish")).toEqual({ type: "finish", reason: "tool_calls" });
  });

  it("keeps split UTF-8 exact", async () => {
    const text = "Grüße — 世界 🌍 ñandú";
    fake.script({ fault: { kind: "split_utf8" }, reply: { text } });
    expect(textOf(await collect(provider.chatStream(ask("x"), ctx())))).toBe(text);
  });

  it("estimates usage when the stream carries none", async () => {
    fake.script({ fault: { kind: "missing_usage" } });
    const chunks = await collect(provider.chatStream(ask("12345678"), ctx()));
    expect(chunks.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 2, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true } });
    expect(chunks.filter((c) => c.type === "usage")).toHaveLength(1);
  });

  it("throws stream_error for a stream cut without [DONE]", async () => {
    fake.script({ fault: { kind: "cut" } });
    const seen: ModelChunk[] = [];
    const err = await providerFailure((async () => { for await (const c of provider.chatStream(ask("a b c d e f g h"), ctx())) seen.push(c); })());
    expect(err.kind).toBe("stream_error");
    expect(seen.some((c) => c.type === "finish" || c.type === "usage")).toBe(false);
  });

  it("throws stream_error for a malformed event", async () => {
    fake.script({ fault: { kind: "malformed_sse" } });
    expect((await providerFailure(collect(provider.chatStream(ask("a b c"), ctx())))).kind).toBe("stream_error");
  });

  it("throws stream_error for an in-stream error event, after the content that came first", async () => {
    fake.script({ fault: { kind: "mid_stream_error" } });
    const seen: ModelChunk[] = [];
    const err = await providerFailure((async () => { for await (const c of provider.chatStream(ask("a b c d e f"), ctx())) seen.push(c); })());
    expect(err.kind).toBe("stream_error");
    expect(err.providerCode).toBe("server_error");
    expect(textOf(seen)).toBe("echo: a ");
  });

  it("times out a stream that stalls after the first chunk (idle timeout)", async () => {
    fake.script({ fault: { kind: "stall_after_first_chunk" } });
    expect((await providerFailure(collect(provider.chatStream(ask("a b c"), ctx())))).kind).toBe("timeout");
  });

  it("reads a slow but live stream to the end", async () => {
    fake.script({ fault: { kind: "slow_drip", delayMs: 50 } });
    expect(textOf(await collect(provider.chatStream(ask("a b c d"), ctx())))).toBe("echo: a b c d");
  });

  it("cancels at once: the fake sees the connection close within 500 ms (the drip would run on for over 1.5 s) of the abort", async () => {
    fake.script({ fault: { kind: "slow_drip", delayMs: 150 } });
    const ac = new AbortController();
    const cut = abortAtText(provider.chatStream(ask("a b c d e f g h i j k l"), ctx(ac.signal)), ac);
    const err = await providerFailure(cut.read);
    expect(err.kind).toBe("cancelled");
    await waitFor(() => fake.requests()[0]?.abortedAt !== undefined);
    expect(fake.requests()[0]!.abortedAt! - cut.abortedAt).toBeLessThan(500);
  });

  it("cancels a unary call that is waiting for headers", async () => {
    fake.script({ fault: { kind: "hang" } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const slow = createOpenAIProvider({ baseUrl: `${fake.url}/v1`, http });
    expect((await providerFailure(slow.chat(ask("x"), ctx(ac.signal)))).kind).toBe("cancelled");
  });
});

describe("openai adapter: framing", () => {
  it("gives the same chunks for any split of the byte stream", async () => {
    fake.script({ reply: { text: "Grüße — 世界 🌍 and more words here", toolCalls: [{ id: "call_z", name: "f", argumentsJson: '{"k":"välue ✓"}' }], usage: { input: 9, cachedInput: 4, reasoning: 2, output: 20 } } });
    const raw = await http.send({ url: `${fake.url}/v1/chat/completions`, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }], stream: true, stream_options: { include_usage: true } }), signal: new AbortController().signal });
    const bytes = Buffer.from(await raw.text());
    const run = (cuts: number[]) => collect(createOpenAIProvider({ baseUrl: "http://replay", http: replay(bytes, cuts) }).chatStream(ask("x"), ctx()));
    const expected = await run([]);
    expect(expected.at(-1)).toMatchObject({ type: "usage", usage: { inputTokens: 9, estimated: false } });
    let seed = 42;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let round = 0; round < 300; round++) {
      const cuts = [...new Set(Array.from({ length: 1 + rand(40) }, () => 1 + rand(bytes.length - 1)))].sort((a, b) => a - b);
      const got = await run(cuts);
      expect(got).toEqual(expected);
    }
  });

  it("reads Azure's stream shape: an empty prompt-filter chunk first, content_filter finish", async () => {
    const frames = [
      { choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] },
      { choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null, content_filter_results: {} }], created: 1, id: "chatcmpl-az", model: "gpt-4o-2024-11-20", object: "chat.completion.chunk" },
      { choices: [{ index: 0, delta: { content: "partial" }, finish_reason: null }], created: 1, id: "chatcmpl-az", model: "gpt-4o-2024-11-20", object: "chat.completion.chunk" },
      { choices: [{ index: 0, delta: {}, finish_reason: "content_filter" }], created: 1, id: "chatcmpl-az", model: "gpt-4o-2024-11-20", object: "chat.completion.chunk" },
    ];
    const bytes = Buffer.from(`${frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join("")}data: [DONE]\n\n`);
    const chunks = await collect(createOpenAIProvider({ baseUrl: "http://replay", http: replay(bytes, [7, 300]) }).chatStream(ask("x"), ctx()));
    expect(chunks[0]).toEqual({ type: "start", model: "gpt-4o-2024-11-20", providerRequestId: "req_replay" });
    expect(textOf(chunks)).toBe("partial");
    expect(chunks.at(-2)).toEqual({ type: "finish", reason: "content_filter" });
    expect(chunks.at(-1)).toMatchObject({ type: "usage", usage: { estimated: true } });
  });
});

/** An HttpClient that answers every request with `bytes`, cut into chunks at `cuts`. */
function replay(bytes: Buffer, cuts: number[]): HttpClient {
  return {
    send: async () => ({
      status: 200,
      headers: { "x-request-id": "req_replay" },
      body: (async function* () {
        let at = 0;
        for (const cut of [...cuts, bytes.length]) {
          yield new Uint8Array(bytes.subarray(at, cut));
          at = cut;
        }
      })(),
      text: async () => bytes.toString("utf8"),
    }),
    close: async () => {},
  };
}

describe("openai adapter: embeddings", () => {
  it("embeds with dimensions, float encoding and usage", async () => {
    const res = await provider.embed!({ model: "text-embedding-3-small", inputs: ["alpha beta", "gamma"], dimensions: 6 }, ctx());
    expect(res.vectors).toEqual([fakeVector("alpha beta", 6), fakeVector("gamma", 6)]);
    expect(res.usage).toMatchObject({ inputTokens: 3, outputTokens: 0, estimated: false });
    expect(res.model).toBe("text-embedding-3-small");
    expect(fake.requests()[0]?.path).toBe("/v1/embeddings");
    expect(body()).toEqual({ model: "text-embedding-3-small", input: ["alpha beta", "gamma"], encoding_format: "float", dimensions: 6 });
  });

  it("reads the answer to the largest batch the gateway accepts (2,048 inputs of 1,536 dimensions)", async () => {
    // OpenAI writes each value as a float64 decimal (`-0.006929283495992422`): ≈ 70 MB for this batch.
    const vector = `[${Array.from({ length: 1536 }, (_, i) => (i % 2 === 0 ? "-0.006929283495992422" : "0.0053364220075309284")).join(",")}]`;
    const data = Array.from({ length: 2048 }, (_, i) => `{"object":"embedding","index":${i},"embedding":${vector}}`).join(",");
    const server = await startRecordingServer({
      headers: { "content-type": "application/json" },
      body: `{"object":"list","data":[${data}],"model":"text-embedding-3-small","usage":{"prompt_tokens":4096,"total_tokens":4096}}`,
    });
    try {
      const big = createOpenAIProvider({ baseUrl: `${server.origin}/v1`, http });
      const res = await big.embed!({ model: "text-embedding-3-small", inputs: Array.from({ length: 2048 }, (_, i) => `text ${i}`) }, ctx());
      expect(res.vectors).toHaveLength(2048);
      expect(res.vectors[2047]?.slice(0, 2)).toEqual([-0.006929283495992422, 0.0053364220075309284]);
      expect(res.usage).toMatchObject({ inputTokens: 4096, estimated: false });
    } finally {
      await server.close();
    }
  });

  it("a response with a vector missing, or vectors of different lengths, is a provider failure, not a ragged answer", async () => {
    const embedWith = (data: unknown[]) =>
      createOpenAIProvider({ baseUrl: "http://replay", http: replay(Buffer.from(JSON.stringify({ data, model: "m" })), []) }).embed!({ model: "m", inputs: ["a", "b"] }, ctx());
    expect(await providerFailure(embedWith([{ index: 0, embedding: [0.1, 0.2] }, { index: 1, embedding: null }]))).toMatchObject({ kind: "server_error" });
    expect(await providerFailure(embedWith([{ index: 0, embedding: [0.1, 0.2] }, { index: 1, embedding: [0.3] }]))).toMatchObject({ kind: "server_error" });
    expect((await embedWith([{ index: 1, embedding: [0.3, 0.4] }, { index: 0, embedding: [0.1, 0.2] }])).vectors).toEqual([[0.1, 0.2], [0.3, 0.4]]);
  });

  it("vectors of another length than the dimensions asked for are a provider failure, not an answer", async () => {
    const embedWith = (data: unknown[], dimensions?: number) =>
      createOpenAIProvider({ baseUrl: "http://replay", http: replay(Buffer.from(JSON.stringify({ data, model: "m" })), []) }).embed!(
        { model: "m", inputs: ["a", "b"], ...(dimensions === undefined ? {} : { dimensions }) },
        ctx(),
      );
    const three = [{ index: 0, embedding: [0.1, 0.2, 0.3] }, { index: 1, embedding: [0.4, 0.5, 0.6] }];
    const err = await providerFailure(embedWith(three, 2));
    expect(err).toMatchObject({ kind: "server_error" });
    expect(err.message).toContain("3 dimensions where 2 were requested");
    expect((await embedWith(three, 3)).vectors).toHaveLength(2);
    expect((await embedWith(three)).vectors).toHaveLength(2);
  });

  it("classifies embedding errors too", async () => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterSeconds: 3 } });
    const err = await providerFailure(provider.embed!({ model: "text-embedding-3-small", inputs: ["x"] }, ctx()));
    expect(err).toMatchObject({ kind: "rate_limited", retryAfterMs: 3000 });
  });
});

describe("openai adapter: errors", () => {
  const cases: Array<[string, Fault, Partial<ProviderError>]> = [
    ["429 + retry-after", { kind: "status", status: 429, retryAfterSeconds: 2 }, { kind: "rate_limited", retryAfterMs: 2000, httpStatus: 429, providerCode: "rate_limit_exceeded" }],
    ["429 + retry-after-ms", { kind: "status", status: 429, retryAfterSeconds: 2, retryAfterMs: 750 }, { kind: "rate_limited", retryAfterMs: 750 }],
    ["429 insufficient_quota", { kind: "status", status: 429, errorType: "insufficient_quota" }, { kind: "auth", providerCode: "insufficient_quota" }],
    ["500", { kind: "status", status: 500 }, { kind: "server_error", httpStatus: 500, providerCode: "server_error" }],
    ["502", { kind: "status", status: 502 }, { kind: "server_error" }],
    ["503 overloaded", { kind: "status", status: 503 }, { kind: "overloaded", httpStatus: 503 }],
    ["529", { kind: "status", status: 529 }, { kind: "overloaded" }],
    ["400 context length", { kind: "status", status: 400, errorType: "context_length_exceeded" }, { kind: "context_length", providerCode: "context_length_exceeded" }],
    ["400 content filter", { kind: "status", status: 400, errorType: "content_filter" }, { kind: "content_filter" }],
    ["400 other", { kind: "status", status: 400 }, { kind: "bad_request", providerCode: "invalid_request_error" }],
    ["422", { kind: "status", status: 422 }, { kind: "bad_request" }],
    ["401", { kind: "status", status: 401 }, { kind: "auth", providerCode: "invalid_api_key" }],
    ["403", { kind: "status", status: 403 }, { kind: "auth" }],
    ["404", { kind: "status", status: 404 }, { kind: "not_found", providerCode: "model_not_found" }],
    ["refused connection", { kind: "refuse" }, { kind: "connection" }],
    ["hang before headers", { kind: "hang" }, { kind: "timeout" }],
  ];

  for (const [name, fault, expected] of cases) {
    it(`classifies ${name} (unary and stream), leaking neither key nor body`, async () => {
      const planted: Fault = fault.kind === "status" ? { ...fault, message: `${BODY_CANARY} key=${API_KEY}` } : fault;
      fake.script({ fault: planted }, { fault: planted });
      for (const call of [() => provider.chat(ask("x"), ctx()), () => collect(provider.chatStream(ask("x"), ctx()))]) {
        const err = await providerFailure(call());
        expect(err).toMatchObject(expected);
        for (const text of [err.message, String(err), JSON.stringify(err), err.providerCode ?? "", err.stack ?? ""]) {
          expect(text).not.toContain(API_KEY);
          expect(text).not.toContain(BODY_CANARY);
        }
      }
    });
  }

  it("classifies in-stream errors that say rate limit or overloaded", () => {
    expect(classifyStreamError("openai", { type: "server_error", code: "server_overloaded", message: "x" }).kind).toBe("overloaded");
    expect(classifyStreamError("openai", { type: "tokens", code: "rate_limit_exceeded" }).kind).toBe("rate_limited");
    expect(classifyStreamError("openai", { type: "invalid_request_error", message: "boom" }).kind).toBe("stream_error");
  });

  it("classifies compatible vendors' envelopes (top-level fields, plain strings, context-length messages)", () => {
    const mistral = JSON.stringify({ object: "error", message: "Prompt contains 40000 tokens, too large for model with 32768 maximum context length", type: "invalid_request_error", param: null, code: null });
    expect(classifyHttpError("mistral", 400, {}, mistral)).toMatchObject({ kind: "context_length", providerCode: "invalid_request_error" });
    expect(classifyHttpError("vllm", 400, {}, JSON.stringify({ error: { message: "This model's maximum context length is 4096 tokens.", type: "BadRequestError", code: 400 } })).kind).toBe("context_length");
    expect(classifyHttpError("ollama", 500, {}, JSON.stringify({ error: "model overloaded" })).kind).toBe("overloaded");
    expect(classifyHttpError("x", 502, {}, "<html>bad gateway</html>").kind).toBe("server_error");
    const free = classifyHttpError("x", 400, {}, JSON.stringify({ error: { type: "has spaces and sk-secret", code: null } }));
    expect(free.providerCode).toBeUndefined();
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
