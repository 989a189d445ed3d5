/**
 * The OpenAI adapter's reading of unary answers and embeddings, on canned bodies: a refusal is
 * the text, a call without an id gets a positional one, vectors follow their `index`, and the
 * estimates count tool calls and round up.
 */
import { describe, expect, it } from "vitest";
import type { HttpClient, HttpResponse } from "../http/http-client.js";
import type { ModelRequest } from "../model.js";
import { createOpenAIProvider } from "../openai.js";

function answering(body: unknown): HttpClient {
  const text = JSON.stringify(body);
  const res: HttpResponse = {
    status: 200,
    headers: {},
    body: (async function* () {
      yield new TextEncoder().encode(text);
    })(),
    text: async () => text,
  };
  return { send: async () => res, close: async () => {} };
}

const ctx = { signal: new AbortController().signal, apiKey: "k" };
const req: ModelRequest = { model: "gpt-x", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };
const provider = (body: unknown) => createOpenAIProvider({ baseUrl: "http://fake.test/v1", http: answering(body) });

describe("openai adapter: unary answers", () => {
  it("returns a refusal as the text", async () => {
    const res = await provider({ id: "r", model: "gpt-x", choices: [{ index: 0, message: { content: null, refusal: "I can't" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 2 } }).chat(req, ctx);
    expect(res.text).toBe("I can't");
  });

  it("names a tool call without an id by its position, and estimates its name and arguments as output", async () => {
    const res = await provider({
      model: "gpt-x",
      choices: [{ index: 0, message: { content: null, tool_calls: [{ type: "function", function: { name: "fn", arguments: '{"k":1}' } }] }, finish_reason: "tool_calls" }],
    }).chat(req, ctx);
    expect(res.toolCalls).toEqual([{ id: "call_0", name: "fn", argumentsJson: '{"k":1}' }]);
    // 8 request chars → 2 tokens; "fn" + '{"k":1}' = 9 chars → 3 tokens.
    expect(res.usage).toEqual({ inputTokens: 2, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });
});

describe("openai adapter: embeddings", () => {
  it("orders vectors by their index and estimates unreported usage rounding up", async () => {
    const embed = provider({ model: "emb", data: [{ index: 1, embedding: [2] }, { index: 0, embedding: [1] }] }).embed!;
    const res = await embed({ model: "emb", inputs: ["abcde", "f"] }, ctx);
    expect(res.vectors).toEqual([[1], [2]]);
    expect(res.usage).toEqual({ inputTokens: 2, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });
});
