import { describe, expect, it } from "vitest";
import { parseChatCompletionRequest } from "./chat-request.js";
import { OpenAIRequestError } from "./openai-request-error.js";

const base = { model: "fast", messages: [{ role: "user", content: "hi" }] };

function paramOf(body: Record<string, unknown>): string | undefined {
  try {
    parseChatCompletionRequest(body as never);
  } catch (err) {
    if (err instanceof OpenAIRequestError) return err.param;
    throw err;
  }
  return "no error";
}

describe("parseChatCompletionRequest", () => {
  it("maps every supported field to the neutral request", () => {
    const parsed = parseChatCompletionRequest({
      model: "fast",
      messages: [
        { role: "developer", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "https://x/y.png" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
        { role: "tool", tool_call_id: "c1", content: "42" },
      ],
      tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" }, strict: true } }],
      tool_choice: "required",
      response_format: { type: "json_schema", json_schema: { name: "s", schema: { type: "object" }, strict: true } },
      max_tokens: 10,
      max_completion_tokens: 20,
      temperature: 0.5,
      top_p: 0.5,
      stop: "END",
      seed: 3,
      parallel_tool_calls: false,
      stream: true,
      stream_options: { include_usage: true },
      metadata: { feature: "search" },
      user: "u1",
      store: false,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      logit_bias: { "50256": -100, "11": 2.5 },
      reasoning_effort: "medium",
    });
    expect(parsed).toMatchObject({ route: "fast", stream: true, includeUsage: true, metadata: { feature: "search" }, user: "u1" });
    expect(parsed.request).toEqual({
      model: "",
      messages: [
        { role: "system", content: [{ type: "text", text: "be brief" }] },
        { role: "user", content: [{ type: "text", text: "look" }, { type: "image", url: "https://x/y.png" }] },
        { role: "assistant", content: [], toolCalls: [{ id: "c1", name: "f", argumentsJson: '{"a":1}' }] },
        { role: "tool", content: [{ type: "text", text: "42" }], toolCallId: "c1" },
      ],
      tools: [{ name: "f", description: "d", parameters: { type: "object" }, strict: true }],
      toolChoice: { type: "required" },
      responseFormat: { type: "json_schema", name: "s", schema: { type: "object" }, strict: true },
      maxOutputTokens: 20,
      temperature: 0.5,
      topP: 0.5,
      stop: ["END"],
      seed: 3,
      parallelToolCalls: false,
      frequencyPenalty: 0.5,
      presencePenalty: -0.5,
      logitBias: { "50256": -100, "11": 2.5 },
      reasoningEffort: "medium",
    });
  });

  it("takes each OpenAI reasoning_effort level, null as none, and refuses any other value naming reasoning_effort", () => {
    for (const effort of ["minimal", "low", "medium", "high"]) {
      expect(parseChatCompletionRequest({ ...base, reasoning_effort: effort }).request.reasoningEffort).toBe(effort);
    }
    expect(parseChatCompletionRequest({ ...base, reasoning_effort: null }).request).not.toHaveProperty("reasoningEffort");
    for (const effort of ["none", "xhigh", "HIGH", "", 1, true, ["low"]]) {
      expect(paramOf({ ...base, reasoning_effort: effort }), JSON.stringify(effort)).toBe("reasoning_effort");
    }
  });

  it("refuses a penalty outside -2..2 or a malformed logit_bias, naming the field; an empty bias is none", () => {
    expect(paramOf({ ...base, frequency_penalty: 2.5 })).toBe("frequency_penalty");
    expect(paramOf({ ...base, presence_penalty: -2.01 })).toBe("presence_penalty");
    expect(paramOf({ ...base, presence_penalty: "1" })).toBe("presence_penalty");
    expect(paramOf({ ...base, logit_bias: { "50256": 101 } })).toBe("logit_bias");
    expect(paramOf({ ...base, logit_bias: { hello: 1 } })).toBe("logit_bias");
    expect(paramOf({ ...base, logit_bias: [1] })).toBe("logit_bias");
    expect(paramOf({ ...base, frequency_penalty: 2, presence_penalty: -2 })).toBe("no error");
    expect(parseChatCompletionRequest({ ...base, logit_bias: {} } as never).request).not.toHaveProperty("logitBias");
  });

  it("refuses a role named after a member of Object.prototype as any unknown role", () => {
    for (const role of ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty"]) {
      expect(paramOf({ ...base, messages: [{ role, content: "hi" }] }), role).toBe("messages[0].role");
    }
  });

  it("reads a named tool choice and json_object, and treats null fields as absent", () => {
    const parsed = parseChatCompletionRequest({ ...base, tool_choice: { type: "function", function: { name: "g" } }, response_format: { type: "json_object" }, temperature: null });
    expect(parsed.request.toolChoice).toEqual({ type: "tool", name: "g" });
    expect(parsed.request.responseFormat).toEqual({ type: "json_object" });
    expect(parsed.request.temperature).toBeUndefined();
    expect(parsed.stream).toBe(false);
  });

  it.each([
    [{ messages: base.messages }, "model"],
    [{ model: "fast", messages: [] }, "messages"],
    [{ ...base, messages: [{ role: "wizard", content: "x" }] }, "messages[0].role"],
    [{ ...base, messages: [{ role: "tool", content: "x" }] }, "messages[0].tool_call_id"],
    [{ ...base, messages: [{ role: "user", content: [{ type: "input_audio" }] }] }, "messages[0].content[0].type"],
    [{ ...base, temperature: 2.5 }, "temperature"],
    [{ ...base, top_p: "high" }, "top_p"],
    [{ ...base, max_tokens: 0 }, "max_tokens"],
    [{ ...base, seed: 1.5 }, "seed"],
    [{ ...base, stop: ["a", "b", "c", "d", "e"] }, "stop"],
    [{ ...base, tool_choice: "sometimes" }, "tool_choice"],
    [{ ...base, tools: [{ type: "retrieval" }] }, "tools[0].type"],
    [{ ...base, response_format: { type: "xml" } }, "response_format.type"],
    [{ ...base, n: 2 }, "n"],
    [{ ...base, logprobs: true }, "logprobs"],
    [{ ...base, metadata: { a: 1 } }, "metadata.a"],
    [{ ...base, user: "u".repeat(257) }, "user"],
  ])("refuses %j naming %s", (body, param) => {
    expect(paramOf(body)).toBe(param);
  });
});

describe("parseChatCompletionRequest, the edges of its rules", () => {
  it("includes usage in a stream only when stream_options.include_usage is true", () => {
    expect(parseChatCompletionRequest({ ...base, stream: true }).includeUsage).toBe(false);
    expect(parseChatCompletionRequest({ ...base, stream: true, stream_options: {} }).includeUsage).toBe(false);
    expect(parseChatCompletionRequest({ ...base, stream: true, stream_options: { include_usage: false } }).includeUsage).toBe(false);
    expect(parseChatCompletionRequest({ ...base, stream: true, stream_options: { include_usage: true } }).includeUsage).toBe(true);
  });

  it("takes n: 1 and refuses any other n", () => {
    expect(paramOf({ ...base, n: 1 })).toBe("no error");
    for (const n of [0, 2, "1"]) expect(paramOf({ ...base, n }), String(n)).toBe("n");
  });

  it("takes logprobs: false and refuses any other logprobs, as it does any n but 1", () => {
    expect(paramOf({ ...base, logprobs: false })).toBe("no error");
    for (const logprobs of [true, "true", 1, "false"]) expect(paramOf({ ...base, logprobs }), JSON.stringify(logprobs)).toBe("logprobs");
  });

  it("takes up to 4 stop sequences, and reads an empty list as none", () => {
    expect(parseChatCompletionRequest({ ...base, stop: ["a", "b", "c", "d"] }).request.stop).toEqual(["a", "b", "c", "d"]);
    expect(parseChatCompletionRequest({ ...base, stop: [] }).request).not.toHaveProperty("stop");
  });

  it("takes every bound of a ranged field itself", () => {
    const parsed = parseChatCompletionRequest({ ...base, temperature: 2, top_p: 1, max_completion_tokens: 1, user: "u".repeat(256) });
    expect(parsed.request).toMatchObject({ temperature: 2, topP: 1, maxOutputTokens: 1 });
    expect(parsed.user).toHaveLength(256);
    expect(parseChatCompletionRequest({ ...base, temperature: 0, top_p: 0 }).request).toMatchObject({ temperature: 0, topP: 0 });
  });

  it("leaves strictness off unless asked: a tool's strict false is not sent, a json_schema without strict is not strict", () => {
    const parsed = parseChatCompletionRequest({
      ...base,
      tools: [{ type: "function", function: { name: "f", strict: false } }],
      response_format: { type: "json_schema", json_schema: { name: "s", schema: { type: "object" } } },
    });
    expect(parsed.request.tools).toEqual([{ name: "f" }]);
    expect(parsed.request.responseFormat).toEqual({ type: "json_schema", name: "s", schema: { type: "object" }, strict: false });
  });
});

describe("parseChatCompletionRequest, messages and refused fields", () => {
  it("refuses an assistant turn with neither content nor tool calls, and takes logprobs: false", () => {
    expect(paramOf({ ...base, messages: [{ role: "assistant", content: "" }] })).toBe("messages[0].content");
    expect(paramOf({ ...base, messages: [{ role: "assistant", content: null, tool_calls: [] }] })).toBe("messages[0].content");
    expect(paramOf({ ...base, logprobs: false })).toBe("no error");
  });

  it("reads a past tool call without arguments as an empty JSON object", () => {
    const parsed = parseChatCompletionRequest({ ...base, messages: [{ role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f" } }] }] });
    expect(parsed.request.messages[0]!.toolCalls).toEqual([{ id: "c1", name: "f", argumentsJson: "{}" }]);
  });
});

describe("parseChatCompletionRequest: Anthropic-style cache_control (LiteLLM's convention)", () => {
  const ephemeral = { type: "ephemeral" };

  it("marks the content parts and tools that carry cache_control as prompt-cache breakpoints", () => {
    const parsed = parseChatCompletionRequest({
      model: "fast",
      messages: [
        { role: "system", content: [{ type: "text", text: "long rules", cache_control: ephemeral }] },
        { role: "user", content: [{ type: "text", text: "doc", cache_control: { type: "ephemeral", ttl: "5m" } }, { type: "text", text: "q" }] },
        { role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" }, cache_control: ephemeral }] },
      ],
      tools: [
        { type: "function", function: { name: "a" } },
        { type: "function", function: { name: "b" }, cache_control: ephemeral },
      ],
    });
    expect(parsed.request.messages.map((m) => m.content)).toEqual([
      [{ type: "text", text: "long rules", cacheBreakpoint: true }],
      [{ type: "text", text: "doc", cacheBreakpoint: true }, { type: "text", text: "q" }],
      [{ type: "image", url: "https://x/y.png", cacheBreakpoint: true }],
    ]);
    expect(parsed.request.tools).toEqual([{ name: "a" }, { name: "b", cacheBreakpoint: true }]);
    // Nothing is marked without cache_control (null included).
    const plain = parseChatCompletionRequest({ ...base, messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: null }] }] });
    expect(plain.request.messages[0]!.content).toEqual([{ type: "text", text: "x" }]);
  });

  it("answers 400 naming the field for an unknown cache_control type, a TTL other than 5 minutes, or a malformed one", () => {
    const part = (cache_control: unknown) => ({ ...base, messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control }] }] });
    expect(paramOf(part({ type: "persistent" }))).toBe("messages[0].content[0].cache_control.type");
    expect(paramOf(part({}))).toBe("messages[0].content[0].cache_control.type");
    expect(paramOf(part({ type: "ephemeral", ttl: "1h" }))).toBe("messages[0].content[0].cache_control.ttl");
    expect(paramOf(part("ephemeral"))).toBe("messages[0].content[0].cache_control");
    expect(paramOf({ ...base, tools: [{ type: "function", function: { name: "a" }, cache_control: { type: "forever" } }] })).toBe("tools[0].cache_control.type");
  });
});
