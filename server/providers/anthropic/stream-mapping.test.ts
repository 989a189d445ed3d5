/**
 * `translateStream` mapping details the adapter tests leave loose: tool calls indexed by their
 * order among `tool_use` blocks, an argument-less call completed with "{}", usage counts that a
 * later `message_delta` omits kept, the stop reason surviving a later delta without one, events
 * after `message_stop` ignored, and a cut before any reported output billing the streamed
 * characters rather than `message_start`'s placeholder count.
 */
import { describe, expect, it } from "vitest";
import type { SseEvent } from "../http/sse-parser.js";
import type { ModelChunk, ModelRequest } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { translateStream } from "./stream.js";

const req: ModelRequest = { model: "claude-test", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };
const ev = (data: Record<string, unknown>): SseEvent => ({ event: String(data.type), data: JSON.stringify(data) });
const start = (usage: Record<string, unknown>) => ev({ type: "message_start", message: { id: "msg_1", model: "claude-x", content: [], usage } });
const stop = ev({ type: "message_stop" });

async function run(events: SseEvent[]): Promise<ModelChunk[]> {
  async function* source() {
    yield* events;
  }
  const out: ModelChunk[] = [];
  for await (const c of translateStream(source(), { req, signal: new AbortController().signal })) out.push(c);
  return out;
}

describe("anthropic translateStream mapping", () => {
  it("indexes tool calls among tool_use blocks and completes an argument-less call with {}", async () => {
    const chunks = await run([
      start({ input_tokens: 5, output_tokens: 1 }),
      ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      ev({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "ok" } }),
      ev({ type: "content_block_stop", index: 0 }),
      ev({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_a", name: "now", input: {} } }),
      ev({ type: "content_block_stop", index: 1 }),
      ev({ type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "toolu_b", name: "f", input: {} } }),
      ev({ type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"a":1}' } }),
      ev({ type: "content_block_stop", index: 2 }),
      ev({ type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 20 } }),
      stop,
    ]);
    expect(chunks.filter((c) => c.type === "tool_call")).toEqual([
      { type: "tool_call", index: 0, id: "toolu_a", name: "now", argumentsDelta: "" },
      { type: "tool_call", index: 0, argumentsDelta: "{}" },
      { type: "tool_call", index: 1, id: "toolu_b", name: "f", argumentsDelta: "" },
      { type: "tool_call", index: 1, argumentsDelta: '{"a":1}' },
    ]);
    expect(chunks.at(-2)).toEqual({ type: "finish", reason: "tool_calls" });
  });

  it("keeps counts and the stop reason a later message_delta omits; ignores events after message_stop", async () => {
    const chunks = await run([
      start({ input_tokens: 10, cache_read_input_tokens: 4, output_tokens: 1 }),
      ev({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 6 } }),
      ev({ type: "message_delta", delta: {}, usage: { output_tokens: 9, input_tokens: null } }),
      stop,
      ev({ type: "message_stop" }),
      ev({ type: "message_start", message: { id: "msg_2" } }),
    ]);
    expect(chunks.slice(1)).toEqual([
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 14, outputTokens: 9, cachedInputTokens: 4, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false } },
    ]);
  });

  it("bills a cut before any reported output by the streamed characters, not message_start's placeholder", async () => {
    async function* source() {
      yield start({ input_tokens: 10, output_tokens: 50 });
      yield ev({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "t", name: "f", input: {} } });
      yield ev({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"city":"Par' } });
    }
    let err: unknown;
    try {
      for await (const _ of translateStream(source(), { req, signal: new AbortController().signal }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProviderError);
    // '{"city":"Par' is 12 characters → 3 tokens.
    expect((err as ProviderError).usage).toEqual({ inputTokens: 10, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });
});
