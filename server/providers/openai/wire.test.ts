/**
 * The OpenAI wire mapping, pinned where the adapter tests through the fake leave it loose:
 * strict flags passed as given, an assistant turn's text kept beside its tool calls, multi-part
 * text joined by newlines, DeepSeek's cache-hit field, the legacy `function_call` finish reason,
 * and base64 embeddings decoded to the last whole float.
 */
import { describe, expect, it } from "vitest";
import type { ModelRequest } from "../model.js";
import { decodeEmbedding, fromWireFinishReason, fromWireUsage, OPENAI_QUIRKS, toWireChatRequest } from "./wire.js";

const base: ModelRequest = { model: "gpt-x", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] };

describe("openai wire: request", () => {
  it("sends a json_schema response format's strict flag as given, false included", () => {
    const schema = { type: "object", properties: {} };
    const body = toWireChatRequest({ ...base, responseFormat: { type: "json_schema", name: "loose", schema, strict: false } }, OPENAI_QUIRKS, false);
    expect(body.response_format).toEqual({ type: "json_schema", json_schema: { name: "loose", schema, strict: false } });
  });

  it("sends the sampling penalties and logit bias as OpenAI names them, and none it was not given", () => {
    const body = toWireChatRequest({ ...base, frequencyPenalty: 0.5, presencePenalty: -1.25, logitBias: { "50256": -100 } }, OPENAI_QUIRKS, false);
    expect(body).toMatchObject({ frequency_penalty: 0.5, presence_penalty: -1.25, logit_bias: { "50256": -100 } });
    const plain = toWireChatRequest(base, OPENAI_QUIRKS, false);
    expect(plain).not.toHaveProperty("frequency_penalty");
    expect(plain).not.toHaveProperty("presence_penalty");
    expect(plain).not.toHaveProperty("logit_bias");
  });

  it("sends no response_format for a text response format", () => {
    const body = toWireChatRequest({ ...base, responseFormat: { type: "text" } }, OPENAI_QUIRKS, false);
    expect(body).not.toHaveProperty("response_format");
  });

  it("keeps an assistant turn's text beside its tool calls; null content only when there is no text", () => {
    const call = { id: "call_1", name: "f", argumentsJson: "{}" };
    const body = toWireChatRequest(
      {
        ...base,
        messages: [
          { role: "assistant", content: [{ type: "text", text: "let me look" }], toolCalls: [call] },
          { role: "assistant", content: [], toolCalls: [call] },
          { role: "assistant", content: [] },
        ],
      },
      OPENAI_QUIRKS,
      false,
    );
    expect(body.messages.map((m) => m.content)).toEqual(["let me look", null, ""]);
  });

  it("joins a message's text parts with newlines", () => {
    const body = toWireChatRequest(
      {
        ...base,
        messages: [
          { role: "system", content: [{ type: "text", text: "rule one" }, { type: "text", text: "rule two" }] },
          { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
          { role: "tool", toolCallId: "c", content: [{ type: "text", text: "x" }, { type: "text", text: "y" }] },
        ],
      },
      OPENAI_QUIRKS,
      false,
    );
    expect(body.messages).toEqual([
      { role: "system", content: "rule one\nrule two" },
      { role: "user", content: "a\nb" },
      { role: "tool", content: "x\ny", tool_call_id: "c" },
    ]);
  });

  it("writes max tokens into the quirk's field and no stream_options when the quirk says so", () => {
    const body = toWireChatRequest({ ...base, maxOutputTokens: 9 }, { maxTokensField: "max_tokens", streamUsageOption: false, messageNames: false }, true);
    expect(body).toEqual({ model: "gpt-x", messages: [{ role: "user", content: "hi" }], max_tokens: 9, stream: true });
  });
});

describe("openai wire: answers", () => {
  it("reads DeepSeek's prompt_cache_hit_tokens as cached input, OpenAI's details winning when both are present", () => {
    expect(fromWireUsage({ prompt_tokens: 100, completion_tokens: 5, prompt_cache_hit_tokens: 64 }).cachedInputTokens).toBe(64);
    expect(fromWireUsage({ prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 32 }, prompt_cache_hit_tokens: 64 }).cachedInputTokens).toBe(32);
  });

  it("maps every finish reason, the legacy function_call as tool calls", () => {
    expect(["stop", "length", "tool_calls", "function_call", "content_filter", "other", null, undefined].map(fromWireFinishReason)).toEqual([
      "stop",
      "length",
      "tool_calls",
      "tool_calls",
      "content_filter",
      "unknown",
      "unknown",
      "unknown",
    ]);
  });

  it("decodes a base64 embedding to every whole little-endian float32, dropping a partial tail", () => {
    const buf = Buffer.alloc(12);
    buf.writeFloatLE(1.5, 0);
    buf.writeFloatLE(-2, 4);
    buf.writeFloatLE(0.25, 8);
    expect(decodeEmbedding(buf.toString("base64"))).toEqual([1.5, -2, 0.25]);
    expect(decodeEmbedding(Buffer.concat([buf, Buffer.from([1, 2])]).toString("base64"))).toEqual([1.5, -2, 0.25]);
    expect(decodeEmbedding(undefined)).toEqual([]);
  });
});
