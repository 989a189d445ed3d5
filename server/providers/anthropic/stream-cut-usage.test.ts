/**
 * P3: a stream that fails after content bills "the provider's usage if present, otherwise
 * counted deltas". Anthropic reports the prompt's tokens (cache reads and writes included) in
 * `message_start`; when the stream then fails (an in-stream `overloaded_error`, a cut), the
 * failure's usage should keep what the provider reported rather than guess it from characters.
 */
import { describe, expect, it } from "vitest";
import type { SseEvent } from "../http/sse-parser.js";
import type { ModelRequest, TokenUsage } from "../model.js";
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

describe("anthropic stream reporting usage as it arrives (CallContext.reportUsage)", () => {
  it("reports message_start's input at once, then message_delta's output", async () => {
    const reports: TokenUsage[] = [];
    const events = [
      ...before,
      ev({ type: "content_block_stop", index: 0 }),
      ev({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 9 } }),
      ev({ type: "message_stop" }),
    ];
    async function* source() {
      yield* events;
    }
    const seen: string[] = [];
    for await (const chunk of translateStream(source(), { req, signal: new AbortController().signal, reportUsage: (u) => reports.push(u) })) {
      seen.push(`${chunk.type}@${reports.length}`);
    }
    // The input is known before the start is handed over: a cut right after it still bills it.
    expect(seen[0]).toBe("start@1");
    const input = { inputTokens: 52_040, cachedInputTokens: 50_000, cacheWriteInputTokens: 2_000, reasoningTokens: 0, estimated: false };
    expect(reports).toEqual([
      { ...input, outputTokens: 0 },
      { ...input, outputTokens: 9 },
    ]);
  });
});
