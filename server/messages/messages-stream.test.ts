import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ModelStream } from "../pipeline/model-call.js";
import { emptyUsage } from "../providers/model.js";
import type { HttpResponse } from "../openai/http-io.js";
import { modelStream, recorder } from "../openai/stream-recorder.testing.js";
import { writeMessagesStream } from "./messages-stream.js";

/** The events of an SSE body as `[event, data]`, checking each `event:` line names its data's `type`. */
function events(body: string): Array<[string, Record<string, unknown>]> {
  return body
    .split("\n\n")
    .filter((f) => f !== "")
    .map((f) => {
      const m = /^event: (\S+)\ndata: (.*)$/s.exec(f);
      if (m === null) throw new Error(`not an Anthropic SSE event: ${f}`);
      const data = JSON.parse(m[2]!) as Record<string, unknown>;
      expect(data.type).toBe(m[1]);
      return [m[1]!, data];
    });
}

const usage = { ...emptyUsage(), inputTokens: 10, outputTokens: 4, cachedInputTokens: 3, cacheWriteInputTokens: 1 };
const write = (res: HttpResponse, stream: ModelStream) =>
  writeMessagesStream({ res, stream, route: "fast", headers: { "request-id": "r" }, now: () => 1_700_000_000_000, onUnexpected: () => {} });

describe("writeMessagesStream", () => {
  it("writes message_start, a text block with one ping after its start, then a tool_use block, message_delta with the whole usage, message_stop", async () => {
    const { res, out } = recorder();
    const { stream } = modelStream([
      { type: "start", model: "claude-x" },
      { type: "text", text: "Let " },
      { type: "text", text: "me check." },
      { type: "tool_call", index: 0, id: "t1", name: "f", argumentsDelta: "" },
      { type: "tool_call", index: 0, argumentsDelta: '{"a":' },
      { type: "tool_call", index: 0, argumentsDelta: "1}" },
      { type: "finish", reason: "tool_calls" },
      { type: "usage", usage },
    ]);
    const end = await write(res, stream);
    expect(end.kind).toBe("completed");
    expect(out.status).toBe(200);
    expect(out.headers).toMatchObject({ "request-id": "r", "content-type": "text/event-stream; charset=utf-8" });
    const evs = events(out.body);
    expect(evs.map(([e]) => e)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(evs[0]![1].message).toMatchObject({ type: "message", role: "assistant", model: "claude-x", content: [], stop_reason: null });
    expect((evs[0]![1].message as { id: string }).id).toMatch(/^msg_/);
    expect(evs[1]![1]).toEqual({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    expect(evs[3]![1]).toEqual({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Let " } });
    expect(evs[6]![1]).toEqual({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } });
    expect(evs[7]![1]).toEqual({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"a":' } });
    expect(evs[9]![1]).toEqual({ type: "content_block_stop", index: 1 });
    expect(evs[10]![1]).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 6, output_tokens: 4, cache_read_input_tokens: 3, cache_creation_input_tokens: 1 },
    });
    expect(out.trailers).toMatchObject({ "x-switchboard-provider": "openai" });
    expect(out.ended).toBe(true);
  });

  it("answers an empty completion with one empty text block, and a length stop as max_tokens", async () => {
    const { res, out } = recorder();
    const { stream } = modelStream([
      { type: "finish", reason: "length" },
      { type: "usage", usage },
    ]);
    await write(res, stream);
    const evs = events(out.body);
    expect(evs.map(([e]) => e)).toEqual(["message_start", "content_block_start", "ping", "content_block_stop", "message_delta", "message_stop"]);
    expect((evs[4]![1].delta as { stop_reason: string }).stop_reason).toBe("max_tokens");
  });

  it("rethrows a failure before any content; after content, ends with an error event and no message_stop", async () => {
    const before = modelStream([{ type: "start", model: "m" }], new ConnectError("down", Code.Unavailable));
    const first = recorder();
    await expect(write(first.res, before.stream)).rejects.toThrow("down");
    expect(first.out.status).toBe(0);

    const { res, out } = recorder();
    const { stream } = modelStream([{ type: "text", text: "partial" }], new ConnectError("provider went away", Code.Unavailable));
    const end = await write(res, stream);
    expect(end.kind).toBe("failed_mid_stream");
    const evs = events(out.body);
    expect(evs.at(-1)).toEqual(["error", { type: "error", error: { type: "overloaded_error", message: "provider went away" } }]);
    expect(evs.map(([e]) => e)).not.toContain("message_stop");
  });

  it("fails the stream, and cancels the call, rather than interleave a tool call after another block began", async () => {
    const { res, out } = recorder();
    const { stream, state } = modelStream([
      { type: "tool_call", index: 0, id: "a", name: "f", argumentsDelta: "{" },
      { type: "tool_call", index: 1, id: "b", name: "g", argumentsDelta: "{}" },
      { type: "tool_call", index: 0, argumentsDelta: "}" },
      { type: "finish", reason: "tool_calls" },
    ]);
    const end = await write(res, stream);
    expect(end.kind).toBe("failed_mid_stream");
    expect(events(out.body).at(-1)![0]).toBe("error");
    expect(state.cancelled).toBe(true);
  });
});
