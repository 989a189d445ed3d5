import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeServer } from "../../test/fakes/fake-server.js";
import type { FakeProvider, Fault } from "../../test/fakes/fake-types.js";
import { createGeminiWire, startGeminiFake } from "../../test/fakes/gemini-fake.js";
import { createGeminiProvider, GEMINI_LIMITS } from "./gemini.js";
import { createHttpClient, type HttpClient } from "./http/http-client.js";
import type { JsonObject, ModelChunk, ModelRequest, TokenUsage } from "./model.js";
import type { Provider } from "./provider.js";
import { ProviderError } from "./provider-error.js";
import { abortAtText, collect, providerFailure } from "./provider-calls.testing.js";

const KEY = "AIzaCANARY-gemini-7f3c1d";
const MODEL = "gemini-2.5-flash";
let fake: FakeProvider;
let http: HttpClient;
let urls: string[];
let gemini: Provider;

const ctx = (signal: AbortSignal = new AbortController().signal) => ({ signal, apiKey: KEY });
const ask = (text: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({ model: MODEL, messages: [{ role: "user", content: [{ type: "text", text }] }], ...extra });

const textOf = (chunks: ModelChunk[]) => chunks.map((c) => (c.type === "text" ? c.text : "")).join("");
const body = (i = 0) => fake.requests()[i]?.body as Record<string, any>;

beforeAll(async () => {
  fake = await startGeminiFake();
  const inner = createHttpClient();
  urls = [];
  http = { send: (req) => (urls.push(req.url), inner.send(req)), close: () => inner.close() };
  gemini = createGeminiProvider({ baseUrl: fake.url, http });
});
afterAll(async () => {
  await http.close();
  await fake.close();
});
afterEach(() => {
  fake.reset();
  urls.length = 0;
});

describe("gemini adapter: chat", () => {
  it("maps roles, system instruction and generation config; returns text, usage and ids", async () => {
    const res = await gemini.chat(
      {
        model: MODEL,
        messages: [
          { role: "system", content: [{ type: "text", text: "be brief" }] },
          { role: "user", content: [{ type: "text", text: "hi" }] },
          { role: "assistant", content: [{ type: "text", text: "hello" }] },
          { role: "user", content: [{ type: "text", text: "say something nice" }] },
        ],
        maxOutputTokens: 50,
        temperature: 0.2,
        topP: 0.9,
        stop: ["END"],
        seed: 7,
      },
      ctx(),
    );
    expect(res).toMatchObject({ text: "echo: say something nice", toolCalls: [], finishReason: "stop", model: MODEL });
    expect(res.providerRequestId).toMatch(/^fake-/);
    expect(res.usage).toEqual({ inputTokens: 7, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false });
    expect(body()).toEqual({
      contents: [
        { role: "user", parts: [{ text: "hi" }] },
        { role: "model", parts: [{ text: "hello" }] },
        { role: "user", parts: [{ text: "say something nice" }] },
      ],
      systemInstruction: { parts: [{ text: "be brief" }] },
      generationConfig: { maxOutputTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ["END"], seed: 7 },
    });
    const req = fake.requests()[0]!;
    expect(req.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(req.headers["x-goog-api-key"]).toBe(KEY);
    expect(urls[0]).toBe(`${fake.url}/v1beta/models/${MODEL}:generateContent`);
    expect(urls.join(" ")).not.toContain("key=");
  });

  it("usage exactness: cached tokens inside input, thoughts inside output", async () => {
    fake.script({ reply: { text: "ok", usage: { input: 1000, output: 300, cachedInput: 800, reasoning: 250 } } });
    const res = await gemini.chat(ask("hi"), ctx());
    expect(res.usage).toEqual({ inputTokens: 1000, outputTokens: 300, cachedInputTokens: 800, cacheWriteInputTokens: 0, reasoningTokens: 250, estimated: false });
    expect(fake.truth()[0]).toMatchObject({ inputTokens: 1000, outputTokens: 300, cachedInputTokens: 800, reasoningTokens: 250 });
  });

  it("parallel tool calls get stable synthetic ids and finish tool_calls", async () => {
    fake.script({ reply: { toolCalls: [{ name: "weather", argumentsJson: '{"city":"Paris"}' }, { name: "time", argumentsJson: '{"tz":"CET"}' }] } });
    const res = await gemini.chat(
      ask("weather and time", {
        tools: [
          { name: "weather", description: "weather now", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } },
          { name: "time", parameters: { type: "object", properties: { tz: { type: "string" } } } },
          { name: "ping", parameters: { type: "object", properties: {} } },
        ],
        toolChoice: { type: "required" },
      }),
      ctx(),
    );
    expect(res.toolCalls).toEqual([
      { id: "call_0", name: "weather", argumentsJson: '{"city":"Paris"}' },
      { id: "call_1", name: "time", argumentsJson: '{"tz":"CET"}' },
    ]);
    expect(res.finishReason).toBe("tool_calls");
    expect(body().tools).toEqual([
      {
        functionDeclarations: [
          { name: "weather", description: "weather now", parameters: { type: "OBJECT", properties: { city: { type: "STRING" } }, required: ["city"] } },
          { name: "time", parameters: { type: "OBJECT", properties: { tz: { type: "STRING" } } } },
          { name: "ping" },
        ],
      },
    ]);
    expect(body().toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } });
  });

  it.each([
    [{ type: "auto" } as const, { mode: "AUTO" }],
    [{ type: "none" } as const, { mode: "NONE" }],
    [{ type: "tool", name: "weather" } as const, { mode: "ANY", allowedFunctionNames: ["weather"] }],
  ])("tool choice %j → functionCallingConfig %j", async (toolChoice, config) => {
    await gemini.chat(ask("hi", { tools: [{ name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } }], toolChoice }), ctx());
    expect(body().toolConfig).toEqual({ functionCallingConfig: config });
  });

  it("tool history: calls become functionCall args, parallel results one functionResponse turn", async () => {
    const req: ModelRequest = {
      model: MODEL,
      messages: [
        { role: "user", content: [{ type: "text", text: "weather and time" }] },
        {
          role: "assistant",
          content: [],
          toolCalls: [
            { id: "call_0", name: "weather", argumentsJson: '{"city":"Paris"}' },
            { id: "call_1", name: "time", argumentsJson: "" },
          ],
        },
        { role: "tool", toolCallId: "call_0", name: "weather", content: [{ type: "text", text: '{"temp":21}' }] },
        { role: "tool", toolCallId: "call_1", content: [{ type: "text", text: "12:00" }] },
      ],
    };
    await gemini.chat(req, ctx());
    expect(fake.requests()[0]?.abortedAt).toBeUndefined();
    expect(body().contents).toEqual([
      { role: "user", parts: [{ text: "weather and time" }] },
      { role: "model", parts: [{ functionCall: { name: "weather", args: { city: "Paris" } } }, { functionCall: { name: "time", args: {} } }] },
      {
        role: "user",
        parts: [{ functionResponse: { name: "weather", response: { temp: 21 } } }, { functionResponse: { name: "time", response: { result: "12:00" } } }],
      },
    ]);
  });

  it("Gemini 3: replayed function calls carry the documented signature bypass (the fake enforces it)", async () => {
    await gemini.chat(
      {
        model: "gemini-3-pro-preview",
        messages: [
          { role: "user", content: [{ type: "text", text: "weather" }] },
          { role: "assistant", content: [], toolCalls: [{ id: "call_0", name: "weather", argumentsJson: "{}" }, { id: "call_1", name: "weather", argumentsJson: "{}" }] },
          { role: "tool", toolCallId: "call_0", name: "weather", content: [{ type: "text", text: "sunny" }] },
          { role: "tool", toolCallId: "call_1", name: "weather", content: [{ type: "text", text: "rain" }] },
        ],
      },
      ctx(),
    );
    const parts = body().contents[1].parts;
    expect(parts[0].thoughtSignature).toBe("skip_thought_signature_validator");
    expect(parts[1].thoughtSignature).toBeUndefined();
  });

  it("invalid tool-call arguments in history are a bad_request before any upstream call", async () => {
    const req: ModelRequest = { model: MODEL, messages: [{ role: "assistant", content: [], toolCalls: [{ id: "x", name: "f", argumentsJson: "[1" }] }] };
    expect((await providerFailure(gemini.chat(req, ctx()))).kind).toBe("bad_request");
    expect(fake.requests()).toHaveLength(0);
  });

  it("images: bytes and data URLs inline, https URLs as fileData", async () => {
    await gemini.chat(
      {
        model: MODEL,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "what is this" },
              { type: "image", data: new Uint8Array([1, 2, 3]), mimeType: "image/png" },
              { type: "image", url: "data:image/webp;base64,AAAA" },
              { type: "image", url: "https://example.com/cat.JPG?x=1" },
            ],
          },
        ],
      },
      ctx(),
    );
    expect(body().contents[0].parts).toEqual([
      { text: "what is this" },
      { inlineData: { mimeType: "image/png", data: "AQID" } },
      { inlineData: { mimeType: "image/webp", data: "AAAA" } },
      { fileData: { fileUri: "https://example.com/cat.JPG?x=1", mimeType: "image/jpeg" } },
    ]);
  });

  it("json_schema: responseSchema in Gemini's subset (the fake rejects unknown keywords)", async () => {
    fake.script({ reply: { text: '{"name":"Ada"}' } });
    const schema: JsonObject = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      additionalProperties: false,
      $defs: { Tag: { type: "string", enum: ["a", "b"] } },
      properties: {
        name: { type: "string", minLength: 1, format: "email" },
        nick: { type: ["string", "null"] },
        kind: { const: "person" },
        when: { type: "string", format: "date-time" },
        tags: { type: "array", items: { $ref: "#/$defs/Tag" }, uniqueItems: true },
        pet: { oneOf: [{ type: "string" }, { type: "integer", exclusiveMinimum: 0 }] },
        age: { anyOf: [{ type: "integer" }, { type: "null" }], description: "years" },
      },
      required: ["name", "missing"],
    };
    const res = await gemini.chat(ask("extract", { responseFormat: { type: "json_schema", name: "person", schema, strict: true } }), ctx());
    expect(res.text).toBe('{"name":"Ada"}');
    expect(body().generationConfig).toEqual({
      responseMimeType: "application/json",
      responseSchema: {
        type: "OBJECT",
        properties: {
          name: { type: "STRING", minLength: 1 },
          nick: { type: "STRING", nullable: true },
          kind: { enum: ["person"] },
          when: { type: "STRING", format: "date-time" },
          tags: { type: "ARRAY", items: { type: "STRING", enum: ["a", "b"] } },
          pet: { anyOf: [{ type: "STRING" }, { type: "INTEGER" }] },
          age: { type: "INTEGER", description: "years", nullable: true },
        },
        required: ["name"],
      },
    });
  });

  it("json_object: responseMimeType only", async () => {
    await gemini.chat(ask("json please", { responseFormat: { type: "json_object" } }), ctx());
    expect(body().generationConfig).toEqual({ responseMimeType: "application/json" });
  });

  it("max tokens → finish length; an overrun is billed as reported", async () => {
    const cut = await gemini.chat(ask("one two three four five six", { maxOutputTokens: 3 }), ctx());
    expect(cut).toMatchObject({ text: "echo: one two", finishReason: "length" });
    expect(cut.usage.outputTokens).toBe(3);
    fake.script({ fault: { kind: "overrun_max_tokens" } });
    const over = await gemini.chat(ask("hi", { maxOutputTokens: 3 }), ctx());
    expect(over.usage.outputTokens).toBeGreaterThan(3);
    expect(over.usage.outputTokens).toBe(fake.truth()[1]?.outputTokens);
  });

  it("a candidate stopped by SAFETY → finish content_filter", async () => {
    fake.script({ reply: { finishReason: "content_filter" } });
    const res = await gemini.chat(ask("bad"), ctx());
    expect(res).toMatchObject({ text: "", finishReason: "content_filter" });
  });

  it("missing usage → estimated usage (~4 characters per token)", async () => {
    fake.script({ fault: { kind: "missing_usage" } });
    const res = await gemini.chat(ask("abcdefgh"), ctx());
    expect(res.usage).toEqual({ inputTokens: 2, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });
});

describe("gemini adapter: chatStream", () => {
  it("start, text deltas, then one finish and one usage (the last usageMetadata, not a sum)", async () => {
    fake.script({ reply: { text: "alpha beta gamma delta epsilon", usage: { input: 10, output: 40, cachedInput: 4, reasoning: 30 } } });
    const chunks = await collect(gemini.chatStream(ask("go"), ctx()));
    expect(chunks[0]).toMatchObject({ type: "start", model: MODEL });
    expect((chunks[0] as { providerRequestId?: string }).providerRequestId).toMatch(/^fake-/);
    expect(textOf(chunks)).toBe("alpha beta gamma delta epsilon");
    expect(chunks.filter((c) => c.type === "text").length).toBeGreaterThan(1);
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 10, outputTokens: 40, cachedInputTokens: 4, cacheWriteInputTokens: 0, reasoningTokens: 30, estimated: false } },
    ]);
    expect(fake.requests()[0]?.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent`);
    expect(urls[0]).toBe(`${fake.url}/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
  });

  it("reports each chunk's usageMetadata as it arrives (CallContext.reportUsage), the last one as the final usage", async () => {
    fake.script({ reply: { text: "alpha beta gamma delta epsilon", usage: { input: 10, output: 40, cachedInput: 4, reasoning: 30 } } });
    const reports: TokenUsage[] = [];
    const chunks = await collect(gemini.chatStream(ask("go"), { ...ctx(), reportUsage: (u) => reports.push(u) }));
    expect(reports.length).toBe(chunks.filter((c) => c.type === "text").length);
    expect(reports[0]).toMatchObject({ inputTokens: 10, cachedInputTokens: 4, estimated: false });
    expect(reports.at(-1)).toEqual((chunks.at(-1) as { usage: TokenUsage }).usage);
  });

  it("streamed parallel tool calls: one whole chunk per call with id and name", async () => {
    fake.script({ reply: { text: "checking", toolCalls: [{ name: "weather", argumentsJson: '{"city":"Oslo"}' }, { name: "time", argumentsJson: "{}" }] } });
    const chunks = await collect(gemini.chatStream(ask("go", { tools: [{ name: "weather" }, { name: "time" }] }), ctx()));
    expect(chunks.filter((c) => c.type === "tool_call")).toEqual([
      { type: "tool_call", index: 0, id: "call_0", name: "weather", argumentsDelta: '{"city":"Oslo"}' },
      { type: "tool_call", index: 1, id: "call_1", name: "time", argumentsDelta: "{}" },
    ]);
    expect(chunks.find((c) => c.type === "finish")).toEqual({ type: "finish", reason: "tool_calls" });
  });

  it("split UTF-8 across writes → exact text", async () => {
    const text = "héllo wörld 日本語 テキスト 😀 ünïcödé";
    fake.script({ reply: { text }, fault: { kind: "split_utf8" } });
    expect(textOf(await collect(gemini.chatStream(ask("go"), ctx())))).toBe(text);
  });

  it("missing usage → estimated usage at the end", async () => {
    fake.script({ reply: { text: "abcd efgh" }, fault: { kind: "missing_usage" } });
    const chunks = await collect(gemini.chatStream(ask("abcdefgh"), ctx()));
    expect(chunks.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 2, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true } });
  });

  it("max tokens → finish length", async () => {
    const chunks = await collect(gemini.chatStream(ask("a b c d e f g", { maxOutputTokens: 2 }), ctx()));
    expect(textOf(chunks)).toBe("echo: a");
    expect(chunks.find((c) => c.type === "finish")).toEqual({ type: "finish", reason: "length" });
  });

  it.each<[string, Fault, string]>([
    ["cut without a finishReason", { kind: "cut" }, "stream_error"],
    ["malformed event", { kind: "malformed_sse" }, "stream_error"],
    ["in-stream overloaded error", { kind: "mid_stream_error" }, "overloaded"],
  ])("%s → %s", async (_name, fault, kind) => {
    fake.script({ reply: { text: "one two three four five six seven eight" }, fault });
    const seen: ModelChunk[] = [];
    const err = await providerFailure(
      (async () => {
        for await (const c of gemini.chatStream(ask("go"), ctx())) seen.push(c);
      })(),
    );
    expect(err.kind).toBe(kind);
    expect(seen.some((c) => c.type === "finish" || c.type === "usage")).toBe(false);
  });

  it("a broken stream carries the prompt its chunks reported (cached tokens too), not an estimate from characters", async () => {
    for (const fault of [{ kind: "cut" }, { kind: "mid_stream_error" }] as const) {
      fake.script({ reply: { text: "one two three four five six seven eight", usage: { input: 1000, output: 40, cachedInput: 800 } }, fault });
      const err = await providerFailure(collect(gemini.chatStream(ask("go"), ctx())));
      expect(err.usage).toMatchObject({ inputTokens: 1000, cachedInputTokens: 800, estimated: true });
      expect(err.usage!.outputTokens).toBeGreaterThan(0);
      expect(err.usage!.outputTokens).toBeLessThanOrEqual(40);
    }
  });

  it("a cut after the only (finishing) chunk still fails: the connection dropped mid-body", async () => {
    fake.script({ fault: { kind: "cut" } });
    expect((await providerFailure(collect(gemini.chatStream(ask("hi"), ctx())))).kind).toBe("stream_error");
  });

  it("stall after the first chunk → timeout (idle timeout)", async () => {
    const quick = createGeminiProvider({ baseUrl: fake.url, http, idleTimeoutMs: 200 });
    fake.script({ reply: { text: "one two three four five six" }, fault: { kind: "stall_after_first_chunk" } });
    const err = await providerFailure(collect(quick.chatStream(ask("go"), ctx())));
    expect(err.kind).toBe("timeout");
  });

  it("a blocked prompt (promptFeedback.blockReason) → content_filter", async () => {
    const base = createGeminiWire();
    const blocked = await startFakeServer({
      ...base,
      plan: () => ({
        type: "sse",
        events: [`data: ${JSON.stringify({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 }, modelVersion: MODEL, responseId: "r1" })}\r\n\r\n`],
      }),
    });
    try {
      const p = createGeminiProvider({ baseUrl: blocked.url, http });
      const err = await providerFailure(collect(p.chatStream(ask("bad"), ctx())));
      expect(err).toMatchObject({ kind: "content_filter", providerCode: "PROHIBITED_CONTENT" });
    } finally {
      await blocked.close();
    }
  });

  it("cancellation mid-stream: the fake sees the socket close within 500 ms (the drip would run on for over 1.5 s)", async () => {
    fake.script({ reply: { text: "one two three four five six seven eight nine ten" }, fault: { kind: "slow_drip", delayMs: 300 } });
    const ac = new AbortController();
    const cut = abortAtText(gemini.chatStream(ask("go"), ctx(ac.signal)), ac);
    const err = await providerFailure(cut.read);
    expect(err.kind).toBe("cancelled");
    await expect.poll(() => fake.requests()[0]?.abortedAt, { timeout: 1000 }).toBeDefined();
    expect(fake.requests()[0]!.abortedAt! - cut.abortedAt).toBeLessThan(500);
    await expect.poll(() => fake.truth()[0]?.delivered, { timeout: 1000 }).toBe("partial");
  });

  it("a consumer that stops reading closes the upstream request", async () => {
    fake.script({ reply: { text: "one two three four five six seven eight nine ten" }, fault: { kind: "slow_drip", delayMs: 300 } });
    let stopAt = 0;
    for await (const c of gemini.chatStream(ask("go"), ctx())) {
      if (c.type === "text") {
        stopAt = Date.now();
        break;
      }
    }
    await expect.poll(() => fake.requests()[0]?.abortedAt, { timeout: 1000 }).toBeDefined();
    expect(fake.requests()[0]!.abortedAt! - stopAt).toBeLessThan(500);
  });
});

describe("gemini adapter: errors", () => {
  it.each<[string, Fault, Partial<ProviderError>]>([
    ["429 + RetryInfo", { kind: "status", status: 429, retryAfterSeconds: 7 }, { kind: "rate_limited", retryAfterMs: 7000, providerCode: "RESOURCE_EXHAUSTED", httpStatus: 429 }],
    ["429 + fractional RetryInfo", { kind: "status", status: 429, retryAfterMs: 1500 }, { kind: "rate_limited", retryAfterMs: 1500 }],
    ["500 INTERNAL", { kind: "status", status: 500 }, { kind: "server_error", providerCode: "INTERNAL" }],
    ["502", { kind: "status", status: 502 }, { kind: "server_error" }],
    ["503 model overloaded", { kind: "status", status: 503 }, { kind: "overloaded", providerCode: "UNAVAILABLE" }],
    ["503 other", { kind: "status", status: 503, message: "The service is currently unavailable." }, { kind: "server_error" }],
    ["529", { kind: "status", status: 529 }, { kind: "overloaded" }],
    ["504 DEADLINE_EXCEEDED", { kind: "status", status: 504 }, { kind: "timeout" }],
    ["400 token count exceeds", { kind: "status", status: 400, errorType: "context_length" }, { kind: "context_length", providerCode: "INVALID_ARGUMENT" }],
    ["400 API key not valid", { kind: "status", status: 400, errorType: "api_key_invalid" }, { kind: "auth" }],
    ["400 FAILED_PRECONDITION (location/billing)", { kind: "status", status: 400, errorType: "FAILED_PRECONDITION" }, { kind: "auth" }],
    ["400 other", { kind: "status", status: 400 }, { kind: "bad_request" }],
    ["403 PERMISSION_DENIED", { kind: "status", status: 403 }, { kind: "auth" }],
    ["404 NOT_FOUND", { kind: "status", status: 404 }, { kind: "not_found" }],
  ])("%s", async (_name, fault, expected) => {
    fake.script({ fault });
    expect(await providerFailure(gemini.chat(ask("hi"), ctx()))).toMatchObject(expected);
    fake.script({ fault });
    expect(await providerFailure(collect(gemini.chatStream(ask("hi"), ctx())))).toMatchObject(expected);
  });

  it("a retry-after header wins over RetryInfo", async () => {
    const base = createGeminiWire();
    const withHeader = await startFakeServer({
      ...base,
      error: (status, fault) => {
        const plan = base.error(status, fault);
        return { ...plan, headers: { ...plan.headers, "retry-after": "3" } };
      },
    });
    try {
      withHeader.script({ fault: { kind: "status", status: 429, retryAfterSeconds: 9 } });
      const p = createGeminiProvider({ baseUrl: withHeader.url, http });
      expect(await providerFailure(p.chat(ask("hi"), ctx()))).toMatchObject({ kind: "rate_limited", retryAfterMs: 3000 });
    } finally {
      await withHeader.close();
    }
  });

  it("refused connection → connection", async () => {
    fake.script({ fault: { kind: "refuse" } });
    expect((await providerFailure(gemini.chat(ask("hi"), ctx()))).kind).toBe("connection");
  });

  it("hang before headers → timeout (headers timeout)", async () => {
    const quick = createGeminiProvider({ baseUrl: fake.url, http, headersTimeoutMs: 200 });
    fake.script({ fault: { kind: "hang" } });
    expect((await providerFailure(quick.chat(ask("hi"), ctx()))).kind).toBe("timeout");
  });

  it("no API key and no raw provider body in any thrown error", async () => {
    const canary = "CANARY-BODY-91b2";
    const faults: Fault[] = [
      { kind: "status", status: 400, message: `bad ${canary} ${KEY}` },
      { kind: "status", status: 429, message: canary, errorType: `${canary} ${KEY}` },
      { kind: "status", status: 503, message: `overloaded ${canary}` },
    ];
    for (const fault of faults) {
      fake.script({ fault });
      const err = await providerFailure(gemini.chat(ask("hi"), ctx()));
      for (const leak of [canary, KEY]) {
        expect(err.message).not.toContain(leak);
        expect(String(err.providerCode)).not.toContain(leak);
        expect(JSON.stringify(err)).not.toContain(leak);
      }
    }
  });
});

describe("gemini adapter: embed", () => {
  it("one input → embedContent with taskType and outputDimensionality", async () => {
    const res = await gemini.embed!({ model: "gemini-embedding-001", inputs: ["hello world"], dimensions: 12, inputType: "query" }, ctx());
    expect(res.vectors).toHaveLength(1);
    expect(res.vectors[0]).toHaveLength(12);
    expect(res.usage).toMatchObject({ inputTokens: 3, estimated: true });
    expect(fake.requests()[0]?.path).toBe("/v1beta/models/gemini-embedding-001:embedContent");
    expect(body()).toEqual({ model: "models/gemini-embedding-001", content: { parts: [{ text: "hello world" }] }, taskType: "RETRIEVAL_QUERY", outputDimensionality: 12 });
  });

  it("several inputs → batchEmbedContents, split at 100, vectors in input order", async () => {
    const inputs = Array.from({ length: 150 }, (_, i) => `text number ${i}`);
    const res = await gemini.embed!({ model: "gemini-embedding-001", inputs, inputType: "document" }, ctx());
    expect(res.vectors).toHaveLength(150);
    expect(fake.requests().map((r) => r.path)).toEqual(Array(2).fill("/v1beta/models/gemini-embedding-001:batchEmbedContents"));
    expect(body(0).requests).toHaveLength(100);
    expect(body(1).requests[0]).toEqual({ model: "models/gemini-embedding-001", content: { parts: [{ text: "text number 100" }] }, taskType: "RETRIEVAL_DOCUMENT" });
    const single = await gemini.embed!({ model: "gemini-embedding-001", inputs: ["text number 120"] }, ctx());
    expect(res.vectors[120]).toEqual(single.vectors[0]);
  });

  it("an empty, non-numeric or differently sized vector is a provider failure, not a ragged answer", async () => {
    /** An adapter whose provider answers each request with the next of `bodies`. */
    const answering = (...bodies: unknown[]) =>
      createGeminiProvider({
        baseUrl: "http://replay",
        http: {
          send: async () => {
            const text = JSON.stringify(bodies.shift());
            const body = (async function* () {
              yield Buffer.from(text);
            })();
            return { status: 200, headers: {}, body, text: async () => text };
          },
          close: async () => {},
        },
      });
    const embed = (p: Provider, inputs: string[]) => p.embed!({ model: "gemini-embedding-001", inputs }, ctx());
    const vectors = (n: number, size: number) => Array.from({ length: n }, () => ({ values: Array<number>(size).fill(0.5) }));
    const inputs = (n: number) => Array.from({ length: n }, (_, i) => `text ${i}`);
    // Observed without a fix: each answered OK — vectors [[]], [[0.1, 0.2], [0.3]], 100 of 2 then 50 of 3 values.
    expect(await providerFailure(embed(answering({ embedding: { values: [] } }), ["a"]))).toMatchObject({ kind: "server_error" });
    expect(await providerFailure(embed(answering({ embeddings: [{ values: [0.1, 0.2] }, { values: [0.3] }] }), ["a", "b"]))).toMatchObject({ kind: "server_error" });
    expect(await providerFailure(embed(answering({ embeddings: [{ values: [0.1] }, { values: [0.2, "x"] }] }), ["a", "b"]))).toMatchObject({ kind: "server_error" });
    // Batches must agree with each other too; the batch answered before is still billed.
    const err = await providerFailure(embed(answering({ embeddings: vectors(100, 2) }, { embeddings: vectors(50, 3) }), inputs(150)));
    expect(err).toMatchObject({ kind: "server_error" });
    expect(err.usage?.inputTokens).toBeGreaterThan(0);
    expect((await embed(answering({ embeddings: vectors(100, 2) }, { embeddings: vectors(50, 2) }), inputs(150))).vectors).toHaveLength(150);
  });

  it("vectors of another length than the outputDimensionality asked for are a provider failure, in every batch", async () => {
    const answering = (...bodies: unknown[]) =>
      createGeminiProvider({
        baseUrl: "http://replay",
        http: {
          send: async () => {
            const text = JSON.stringify(bodies.shift());
            const body = (async function* () {
              yield Buffer.from(text);
            })();
            return { status: 200, headers: {}, body, text: async () => text };
          },
          close: async () => {},
        },
      });
    const embed = (p: Provider, inputs: string[], dimensions: number) => p.embed!({ model: "gemini-embedding-001", inputs, dimensions }, ctx());
    const vectors = (n: number, size: number) => Array.from({ length: n }, () => ({ values: Array<number>(size).fill(0.5) }));
    const inputs = (n: number) => Array.from({ length: n }, (_, i) => `text ${i}`);
    const one = await providerFailure(embed(answering({ embedding: { values: [0.1, 0.2, 0.3] } }), ["a"], 2));
    expect(one).toMatchObject({ kind: "server_error" });
    expect(one.message).toContain("3 dimensions where 2 were requested");
    expect(await providerFailure(embed(answering({ embeddings: vectors(100, 3) }, { embeddings: vectors(50, 3) }), inputs(150), 2))).toMatchObject({ kind: "server_error" });
    expect((await embed(answering({ embeddings: vectors(100, 2) }, { embeddings: vectors(50, 2) }), inputs(150), 2)).vectors).toHaveLength(150);
  });

  it("declares Gemini's documented bounds: 5 stop sequences, and gemini-embedding-001's 128 to 3,072 dimensions by either name", () => {
    expect(gemini.limits).toEqual(GEMINI_LIMITS);
    expect(GEMINI_LIMITS.maxStopSequences).toBe(5);
    for (const name of ["gemini-embedding-001", "models/gemini-embedding-001"]) {
      expect(GEMINI_LIMITS.embeddingModels?.[name], name).toEqual({ dimensions: 3072, minDimensions: 128 });
    }
  });

  it("an embed error is classified like chat's", async () => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterSeconds: 2 } });
    expect(await providerFailure(gemini.embed!({ model: "gemini-embedding-001", inputs: ["a", "b"] }, ctx()))).toMatchObject({ kind: "rate_limited", retryAfterMs: 2000 });
  });
});
