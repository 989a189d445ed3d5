/**
 * `readChatStream` on hand-written SSE bodies: the stream endings, tool-call assembly and choice
 * selection the fake-driven adapter tests do not reach.
 */
import { describe, expect, it } from "vitest";
import type { HttpResponse } from "../http/http-client.js";
import type { ModelChunk, ModelRequest } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { readChatStream } from "./stream.js";

const req: ModelRequest = { model: "gpt-x", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };
const frame = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => frame({ id: "c1", model: "gpt-x", choices, ...extra });
const usage = { prompt_tokens: 7, completion_tokens: 3 };

function response(text: string): HttpResponse {
  return {
    status: 200,
    headers: {},
    body: (async function* () {
      yield new TextEncoder().encode(text);
    })(),
    text: async () => text,
  };
}

async function read(text: string): Promise<ModelChunk[]> {
  const out: ModelChunk[] = [];
  for await (const c of readChatStream("openai", response(text), req, undefined)) out.push(c);
  return out;
}

async function failure(text: string): Promise<ProviderError> {
  const err = await read(text).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe("openai readChatStream", () => {
  it("throws stream_error, with the reported usage, for a body that ends cleanly without [DONE]", async () => {
    const err = await failure(chunk([{ index: 0, delta: { content: "hi" }, finish_reason: "stop" }]) + chunk([], { usage }));
    expect(err.kind).toBe("stream_error");
    expect(err.usage).toMatchObject({ inputTokens: 7, outputTokens: 3 });
  });

  it("ignores events after [DONE]", async () => {
    const chunks = await read(
      chunk([{ index: 0, delta: { content: "hi" }, finish_reason: "stop" }]) +
        chunk([], { usage }) +
        frame("[DONE]") +
        chunk([{ index: 0, delta: { content: " late" }, finish_reason: "length" }], { usage: { prompt_tokens: 99, completion_tokens: 99 } }) +
        frame("not json"),
    );
    expect(chunks).toEqual([
      { type: "start", model: "gpt-x", providerRequestId: "c1" },
      { type: "text", text: "hi" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 7, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false } },
    ]);
  });

  it("sends a tool call's id and name once, even when the provider repeats them, and assembles its arguments", async () => {
    const chunks = await read(
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: "" } }] } }]) +
        chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: '{"a":' } }] } }]) +
        chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "1}" } }] }, finish_reason: "tool_calls" }]) +
        frame("[DONE]"),
    );
    const calls = chunks.filter((c) => c.type === "tool_call");
    expect(calls).toEqual([
      { type: "tool_call", index: 0, id: "call_a", name: "f", argumentsDelta: "" },
      { type: "tool_call", index: 0, argumentsDelta: '{"a":' },
      { type: "tool_call", index: 0, argumentsDelta: "1}" },
    ]);
    expect(chunks.at(-2)).toEqual({ type: "finish", reason: "tool_calls" });
  });

  it("streams a refusal as text", async () => {
    const chunks = await read(chunk([{ index: 0, delta: { refusal: "I can't help with that" }, finish_reason: "stop" }]) + frame("[DONE]"));
    expect(chunks.filter((c) => c.type === "text")).toEqual([{ type: "text", text: "I can't help with that" }]);
  });

  it("throws stream_error for a choice that finishes with error", async () => {
    const err = await failure(chunk([{ index: 0, delta: { content: "par" }, finish_reason: "error" }]) + frame("[DONE]"));
    expect(err.kind).toBe("stream_error");
  });

  it("reads choice 0 even when another choice comes first", async () => {
    const chunks = await read(
      chunk([
        { index: 1, delta: { content: "other" }, finish_reason: "length" },
        { index: 0, delta: { content: "mine" }, finish_reason: "stop" },
      ]) + frame("[DONE]"),
    );
    expect(chunks.filter((c) => c.type === "text")).toEqual([{ type: "text", text: "mine" }]);
    expect(chunks.at(-2)).toEqual({ type: "finish", reason: "stop" });
  });

  it("waits for a chunk with a model before starting (Azure's empty prompt-filter chunk)", async () => {
    const chunks = await read(frame({ id: "", model: "", choices: [] }) + chunk([{ index: 0, delta: { content: "x" }, finish_reason: "stop" }]) + frame("[DONE]"));
    expect(chunks[0]).toEqual({ type: "start", model: "gpt-x", providerRequestId: "c1" });
    expect(chunks.filter((c) => c.type === "start")).toHaveLength(1);
  });

  it("estimates usage from the request and every output character, tool names and arguments included", async () => {
    // 8 request chars → 2 tokens; "abcd" + "fn" + '{"k":1}' = 13 chars → 4 tokens.
    const chunks = await read(
      chunk([{ index: 0, delta: { content: "abcd" } }]) +
        chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: "c", function: { name: "fn", arguments: '{"k":1}' } }] }, finish_reason: "tool_calls" }]) +
        frame("[DONE]"),
    );
    expect(chunks.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 2, outputTokens: 4, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true } });
  });
});
