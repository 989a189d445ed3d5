/**
 * Proves the Gemini fake is wire-faithful: Google's official SDK (`@google/genai`, Gemini
 * Developer API mode) pointed at it parses unary and streamed answers, function calls, usage,
 * embeddings and error envelopes exactly as the SDK documents.
 */
import { ApiError, FunctionCallingConfigMode, GoogleGenAI, Type } from "@google/genai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeProvider } from "./fake-types.js";
import { startGeminiFake } from "./gemini-fake.js";

const API_KEY = "AIzaFAKE-sdk-test-key";
let fake: FakeProvider;
let ai: GoogleGenAI;

beforeAll(async () => {
  fake = await startGeminiFake();
  // This SDK version retries only when `httpOptions.retryOptions` is set; it is not, so errors
  // surface on the first attempt.
  ai = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: fake.url } });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe("@google/genai against the Gemini fake", () => {
  it("generateContent: text, usageMetadata, responseId, modelVersion, API key header", async () => {
    const res = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "hello there" });
    expect(res.text).toBe("echo: hello there");
    expect(res.candidates?.[0]?.finishReason).toBe("STOP");
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 2, candidatesTokenCount: 3, totalTokenCount: 5 });
    expect(res.modelVersion).toBe("gemini-2.5-flash");
    expect(res.responseId).toMatch(/^fake-/);
    const [req] = fake.requests();
    expect(req?.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(req?.headers["x-goog-api-key"]).toBe(API_KEY);
    expect(fake.truth()).toEqual([
      expect.objectContaining({ model: "gemini-2.5-flash", stream: false, inputTokens: 2, outputTokens: 3, delivered: "complete" }),
    ]);
  });

  it("generateContentStream: text deltas, finishReason and usage on the last chunk", async () => {
    const stream = await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "one two three four five" });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.text ?? "").join("")).toBe("echo: one two three four five");
    const last = chunks.at(-1)!;
    expect(last.candidates?.[0]?.finishReason).toBe("STOP");
    expect(last.usageMetadata).toMatchObject({ promptTokenCount: 5, candidatesTokenCount: 6, totalTokenCount: 11 });
    expect(chunks.slice(0, -1).every((c) => c.candidates?.[0]?.finishReason === undefined)).toBe(true);
    expect(fake.requests()[0]?.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    expect(fake.truth()[0]).toMatchObject({ stream: true, delivered: "complete" });
  });

  it("function calling (unary): the SDK's request passes validation; functionCalls parse", async () => {
    fake.script({ reply: { toolCalls: [{ name: "get_weather", argumentsJson: '{"city":"Paris"}' }, { name: "get_time", argumentsJson: '{"tz":"CET"}' }] } });
    const res = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "weather and time in Paris?",
      config: {
        systemInstruction: "be brief",
        tools: [
          {
            functionDeclarations: [
              { name: "get_weather", description: "weather", parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ["city"] } },
              { name: "get_time", parameters: { type: Type.OBJECT, properties: { tz: { type: Type.STRING } } } },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ["get_weather", "get_time"] } },
      },
    });
    expect(res.functionCalls).toEqual([
      { name: "get_weather", args: { city: "Paris" } },
      { name: "get_time", args: { tz: "CET" } },
    ]);
    expect(res.candidates?.[0]?.finishReason).toBe("STOP");
    const body = fake.requests()[0]?.body as { systemInstruction: unknown; toolConfig: unknown };
    expect(body.systemInstruction).toEqual({ parts: [{ text: "be brief" }], role: "user" });
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather", "get_time"] } });
  });

  it("function calling (streamed): whole functionCall parts on the last chunk", async () => {
    fake.script({ reply: { text: "let me check", toolCalls: [{ name: "get_weather", argumentsJson: '{"city":"Oslo"}' }] } });
    const stream = await ai.models.generateContentStream({
      model: "gemini-2.5-flash",
      contents: "weather in Oslo?",
      config: { tools: [{ functionDeclarations: [{ name: "get_weather", parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } } } }] }] },
    });
    const calls = [];
    let text = "";
    for await (const chunk of stream) {
      text += chunk.text ?? "";
      calls.push(...(chunk.functionCalls ?? []));
    }
    expect(text).toBe("let me check");
    expect(calls).toEqual([{ name: "get_weather", args: { city: "Oslo" } }]);
  });

  it("usageMetadata: cached and thought tokens, zero counts omitted as proto3 JSON does", async () => {
    fake.script({ reply: { text: "done", usage: { input: 100, output: 30, cachedInput: 60, reasoning: 20 } } });
    const res = await ai.models.generateContent({ model: "gemini-2.5-pro", contents: "think" });
    expect(res.usageMetadata).toMatchObject({
      promptTokenCount: 100,
      cachedContentTokenCount: 60,
      candidatesTokenCount: 10,
      thoughtsTokenCount: 20,
      totalTokenCount: 130,
    });
    fake.script({ reply: { text: "x" } });
    const plain = await ai.models.generateContent({ model: "gemini-2.5-pro", contents: "hi" });
    expect(plain.usageMetadata?.cachedContentTokenCount).toBeUndefined();
    expect(plain.usageMetadata?.thoughtsTokenCount).toBeUndefined();
  });

  it("responseSchema: the SDK's JSON mode request passes validation and the scripted JSON comes back", async () => {
    fake.script({ reply: { text: '{"name":"Ada"}' } });
    const res = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "extract",
      config: { responseMimeType: "application/json", responseSchema: { type: Type.OBJECT, properties: { name: { type: Type.STRING } }, required: ["name"] } },
    });
    expect(JSON.parse(res.text ?? "")).toEqual({ name: "Ada" });
  });

  it("embedContent: the SDK uses batchEmbedContents; taskType and outputDimensionality honoured", async () => {
    const res = await ai.models.embedContent({
      model: "gemini-embedding-001",
      contents: ["first text", "second text"],
      config: { taskType: "RETRIEVAL_DOCUMENT", outputDimensionality: 16 },
    });
    expect(res.embeddings).toHaveLength(2);
    expect(res.embeddings?.[0]?.values).toHaveLength(16);
    const [req] = fake.requests();
    expect(req?.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(req?.body).toMatchObject({ requests: [{ model: "models/gemini-embedding-001", taskType: "RETRIEVAL_DOCUMENT", outputDimensionality: 16 }, {}] });
  });

  it("429: ApiError with status 429 and Google's envelope carrying RetryInfo", async () => {
    fake.script({ fault: { kind: "status", status: 429, retryAfterSeconds: 7 } });
    const err = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    const body = JSON.parse((err as ApiError).message) as { error: { code: number; status: string; details: Array<Record<string, string>> } };
    expect(body.error.code).toBe(429);
    expect(body.error.status).toBe("RESOURCE_EXHAUSTED");
    expect(body.error.details).toContainEqual({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" });
    expect(fake.truth()).toEqual([]);
  });

  it("400: ApiError with status 400 INVALID_ARGUMENT (context length)", async () => {
    fake.script({ fault: { kind: "status", status: 400, errorType: "context_length" } });
    const err = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toContain("INVALID_ARGUMENT");
    expect((err as ApiError).message).toContain("exceeds the maximum number of tokens allowed");
  });

  it("an in-stream error object: the SDK throws ApiError mid-iteration", async () => {
    fake.script({ fault: { kind: "mid_stream_error" } });
    const stream = await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "one two three four five six" });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.text ?? "");
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["echo: one "]);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(503);
  });

  it("streamGenerateContent without alt=sse answers one JSON array; no API key is a 403", async () => {
    const url = `${fake.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`;
    const init = { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": API_KEY }, body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "a b c d" }] }] }) };
    const array = (await (await fetch(url, init)).json()) as Array<{ candidates: Array<{ content: { parts: Array<{ text: string }> }; finishReason?: string }> }>;
    expect(array.length).toBeGreaterThan(1);
    expect(array.map((c) => c.candidates[0]!.content.parts[0]!.text).join("")).toBe("echo: a b c d");
    expect(array.at(-1)!.candidates[0]!.finishReason).toBe("STOP");
    const anonymous = await fetch(url, { ...init, headers: { "content-type": "application/json" } });
    expect(anonymous.status).toBe(403);
    expect(((await anonymous.json()) as { error: { status: string } }).error.status).toBe("PERMISSION_DENIED");
  });

  it("Google's request validation: an unknown field is a 400 the SDK surfaces", async () => {
    const err = await ai.models
      .generateContent({ model: "gemini-2.5-flash", contents: "hi", config: { httpOptions: { extraBody: { max_tokens: 5 } } } })
      .catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toContain('Unknown name \\"max_tokens\\"');
  });
});
