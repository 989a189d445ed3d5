/**
 * P3: a stream that fails after content bills "the provider's usage if present, otherwise
 * counted deltas". Anthropic reports the prompt's tokens (cache reads and writes included) in
 * `message_start`; when the stream then fails (an in-stream `overloaded_error`, a cut), the
 * failure's usage should keep what the provider reported rather than guess it from characters.
 */
import { describe, expect, it } from "vitest";
import type { SseEvent } from "../http/sse-parser.js";
import type { ModelRequest } from "../model.js";
import { ProviderError } from "../provider-error.js";
import { withPartialUsage } from "../usage-estimate.js";
import { translateStream } from "./stream.js";

const req: ModelRequest = { model: "claude-test", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };
const ev = (data: Record<string, unknown>): SseEvent => ({ event: String(data.type), data: JSON.stringify(data) });

async function failureOf(events: SseEvent[], tail?: Error): Promise<ProviderError> {
  async function* source() {
    yield* events;
    if (tail) throw tail;
  }
  try {
    for await (const _ of withPartialUsage(req, translateStream(source(), { req, signal: new AbortController().signal })));
  } catch (err) {
    return err as ProviderError;
  }
  throw new Error("the stream did not fail");
}

const before = [
  ev({ type: "message_start", message: { id: "msg_1", model: "claude-x", content: [], usage: { input_tokens: 40, cache_read_input_tokens: 50_000, cache_creation_input_tokens: 2_000, output_tokens: 1 } } }),
  ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  ev({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello there, this is a partial answer" } }),
];

describe("anthropic stream failing after content", () => {
  it("an in-stream overloaded_error keeps the input usage message_start reported", async () => {
    const err = await failureOf([...before, ev({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })]);
    expect(err.usage).toBeDefined();
    expect(err.usage).toMatchObject({ inputTokens: 52_040, cachedInputTokens: 50_000, cacheWriteInputTokens: 2_000 });
  });

  it("a stream cut before message_stop keeps the input usage message_start reported", async () => {
    const err = await failureOf(before);
    expect(err.kind).toBe("stream_error");
    expect(err.usage).toMatchObject({ inputTokens: 52_040, cachedInputTokens: 50_000, cacheWriteInputTokens: 2_000 });
  });
});
