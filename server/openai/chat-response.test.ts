import { describe, expect, it } from "vitest";
import type { ModelCallResult } from "../pipeline/model-call.js";
import { emptyUsage, type ModelResponse } from "../providers/model.js";
import { chatCompletionOf, finishReasonOf, newCompletionId } from "./chat-response.js";

describe("newCompletionId", () => {
  it("is chatcmpl- and 24 hex digits, distinct across refills of the random pool", () => {
    const ids = Array.from({ length: 1_000 }, () => newCompletionId()); // ≈ 4 pools of 256
    for (const id of ids) expect(id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("chatCompletionOf", () => {
  const result = (over: Partial<ModelResponse>): ModelCallResult => ({
    response: { text: "", toolCalls: [], finishReason: "stop", usage: emptyUsage(), model: "gpt-x-2025", ...over },
    provider: "openai",
    model: "gpt-x-2025",
    attempts: [],
    costMicrosUsd: 0n,
    cacheStatus: "miss",
  });
  const call = { id: "c1", name: "f", argumentsJson: '{"a":1}' };

  it("is OpenAI's chat.completion with the serving model and every usage detail", () => {
    const usage = { ...emptyUsage(), inputTokens: 7, outputTokens: 4, cachedInputTokens: 2, reasoningTokens: 3 };
    expect(chatCompletionOf(result({ text: "hello", usage }), 1_700_000_000)).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{24}$/),
      object: "chat.completion",
      created: 1_700_000_000,
      model: "gpt-x-2025",
      choices: [{ index: 0, message: { role: "assistant", content: "hello", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 3 } },
      system_fingerprint: null,
    });
  });

  it("answers tool calls with null content and finish_reason tool_calls when the provider said nothing usable", () => {
    const c = chatCompletionOf(result({ toolCalls: [call], finishReason: "unknown" }), 0) as { choices: { message: unknown; finish_reason: string }[] };
    expect(c.choices[0]).toMatchObject({
      message: { role: "assistant", content: null, refusal: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
      finish_reason: "tool_calls",
    });
    const text = chatCompletionOf(result({ text: "", finishReason: "unknown" }), 0) as { choices: { message: unknown; finish_reason: string }[] };
    expect(text.choices[0]).toMatchObject({ message: { role: "assistant", content: "", refusal: null }, finish_reason: "stop" });
    expect(finishReasonOf("length", true)).toBe("length");
    expect(finishReasonOf("unknown", false)).toBe("stop");
  });
});
