import { describe, expect, it } from "vitest";
import type { SseEvent } from "../http/sse-parser.js";
import type { ModelChunk, ModelRequest } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { translateStream } from "./stream.js";

const req: ModelRequest = { model: "claude-test", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };

function ev(data: Record<string, unknown>): SseEvent {
  return { event: String(data.type), data: JSON.stringify(data) };
}

const start = ev({ type: "message_start", message: { id: "msg_1", model: "claude-x", content: [], usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 1 } } });
const stop = ev({ type: "message_stop" });

async function run(events: Array<SseEvent | Error>, signal = new AbortController().signal): Promise<ModelChunk[]> {
  async function* source() {
    for (const e of events) {
      if (e instanceof Error) throw e;
      yield e;
    }
  }
  const out: ModelChunk[] = [];
  for await (const c of translateStream(source(), { req, signal })) out.push(c);
  return out;
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return (err as ProviderError).kind;
}

describe("translateStream", () => {
  it("skips thinking blocks, unknown events and deltas; takes cumulative usage from message_delta", async () => {
    const chunks = await run([
      start,
      ev({ type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } }),
      ev({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hmm" } }),
      ev({ type: "content_block_stop", index: 0 }),
      ev({ type: "some_future_event", detail: 1 }),
      ev({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }),
      ev({ type: "content_block_delta", index: 1, delta: { type: "citations_delta", citation: {} } }),
      ev({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "hi" } }),
      ev({ type: "content_block_stop", index: 1 }),
      ev({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 12, cache_creation_input_tokens: 3, output_tokens_details: { thinking_tokens: 9 } } }),
      stop,
      ev({ type: "ping" }),
    ]);
    expect(chunks).toEqual([
      { type: "start", model: "claude-x", providerRequestId: "msg_1" },
      { type: "text", text: "hi" },
      { type: "finish", reason: "stop" },
      { type: "usage", usage: { inputTokens: 18, outputTokens: 12, cachedInputTokens: 5, cacheWriteInputTokens: 3, reasoningTokens: 9, estimated: false } },
    ]);
  });

  it("keeps reported input and estimates output when message_delta has no usage", async () => {
    const chunks = await run([
      start,
      ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      ev({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "eight ch" } }),
      ev({ type: "message_delta", delta: { stop_reason: "max_tokens" } }),
      stop,
    ]);
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", reason: "length" },
      { type: "usage", usage: { inputTokens: 15, outputTokens: 2, cachedInputTokens: 5, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true } },
    ]);
  });

  it("classifies in-stream error events by their type", async () => {
    const error = (type: string): SseEvent => ({ event: "error", data: JSON.stringify({ type: "error", error: { type, message: "secret body" } }) });
    expect(await kindOf(run([start, error("overloaded_error")]))).toBe("overloaded");
    expect(await kindOf(run([start, error("rate_limit_error")]))).toBe("rate_limited");
    expect(await kindOf(run([start, error("api_error")]))).toBe("stream_error");
    expect(await kindOf(run([start, { event: "error", data: "not json" }]))).toBe("stream_error");
  });

  it("fails out-of-order, unparseable and unterminated streams", async () => {
    expect(await kindOf(run([ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }), stop]))).toBe("stream_error");
    expect(await kindOf(run([start, ev({ type: "content_block_delta", index: 3, delta: { type: "text_delta", text: "x" } }), stop]))).toBe("stream_error");
    expect(await kindOf(run([start, { event: "message_delta", data: "{oops" }, stop]))).toBe("stream_error");
    expect(await kindOf(run([start]))).toBe("stream_error");
    expect(await kindOf(run([]))).toBe("stream_error");
    expect(await kindOf(run([start, new ProviderError("connection", "reset")]))).toBe("stream_error");
    expect(await kindOf(run([start, new ProviderError("timeout", "idle")]))).toBe("timeout");
  });

  it("stops translating once the signal is aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await kindOf(run([start, stop], controller.signal))).toBe("cancelled");
  });
});
