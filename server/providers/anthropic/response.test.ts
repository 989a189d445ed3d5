/**
 * `fromWireMessage` directly: every text block is kept (in order), and an answer without usage is
 * estimated from its text and tool arguments.
 */
import { describe, expect, it } from "vitest";
import type { ModelRequest } from "../model.js";
import { fromWireMessage } from "./response.js";
import { toFinishReason } from "./usage.js";

const req: ModelRequest = { model: "claude-test", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };

describe("anthropic fromWireMessage", () => {
  it("concatenates every text block, around skipped thinking blocks", () => {
    const body = {
      id: "msg_1",
      model: "claude-x",
      content: [
        { type: "text", text: "one " },
        { type: "thinking", thinking: "hmm" },
        { type: "text", text: "two" },
      ],
      stop_reason: "end_turn",
      usage: { input_tokens: 3, output_tokens: 2 },
    };
    expect(fromWireMessage(JSON.stringify(body), req, undefined)).toMatchObject({ text: "one two", finishReason: "stop", model: "claude-x", providerRequestId: "msg_1" });
  });

  it("estimates missing usage from the text and the tool calls' arguments", () => {
    const body = { content: [{ type: "text", text: "ok" }, { type: "tool_use", id: "toolu_1", name: "f", input: { city: "Paris" } }], stop_reason: "tool_use" };
    const res = fromWireMessage(JSON.stringify(body), req, "req_9");
    expect(res.toolCalls).toEqual([{ id: "toolu_1", name: "f", argumentsJson: '{"city":"Paris"}' }]);
    // "ok" + '{"city":"Paris"}' = 2 + 16 = 18 chars → 5 tokens; 8 request chars → 2.
    expect(res.usage).toEqual({ inputTokens: 2, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
    expect(res.providerRequestId).toBe("req_9");
  });

  it("maps every stop reason, a full context window as length", () => {
    expect(["end_turn", "stop_sequence", "max_tokens", "model_context_window_exceeded", "tool_use", "refusal", "pause_turn", null, undefined].map(toFinishReason)).toEqual([
      "stop",
      "stop",
      "length",
      "length",
      "tool_calls",
      "content_filter",
      "unknown",
      "unknown",
      "unknown",
    ]);
  });
});
