import { describe, expect, it } from "vitest";
import { OpenAIRequestError } from "../openai/openai-request-error.js";
import { parseMessagesRequest } from "./messages-request.js";

const base = { model: "fast", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };

/** The field a body is refused for (`"no error"` when it is accepted). */
function paramOf(body: Record<string, unknown>): string | undefined {
  try {
    parseMessagesRequest(body as never);
  } catch (err) {
    if (err instanceof OpenAIRequestError) return err.param;
    throw err;
  }
  return "no error";
}

describe("parseMessagesRequest", () => {
  it("maps system, turns, tool use and tool results, images and cache_control to the neutral request", () => {
    const parsed = parseMessagesRequest({
      model: "fast",
      max_tokens: 200,
      system: [{ type: "text", text: "be brief", cache_control: { type: "ephemeral" } }],
      messages: [
        { role: "user", content: [{ type: "text", text: "look" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] },
        { role: "assistant", content: [{ type: "thinking", thinking: "hmm", signature: "s" }, { type: "text", text: "calling" }, { type: "tool_use", id: "t1", name: "f", input: { a: 1 } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "42" }, { type: "text", text: "and?" }] },
      ],
      tools: [{ name: "f", description: "d", input_schema: { type: "object" }, cache_control: { type: "ephemeral" } }],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ["END"],
      stream: true,
      metadata: { user_id: "u1" },
    });
    expect(parsed).toEqual({
      route: "fast",
      stream: true,
      user: "u1",
      request: {
        model: "",
        maxOutputTokens: 200,
        messages: [
          { role: "system", content: [{ type: "text", text: "be brief", cacheBreakpoint: true }] },
          { role: "user", content: [{ type: "text", text: "look" }, { type: "image", url: "data:image/png;base64,iVBORw0KGgo=" }] },
          { role: "assistant", content: [{ type: "text", text: "calling" }], toolCalls: [{ id: "t1", name: "f", argumentsJson: '{"a":1}' }] },
          { role: "tool", toolCallId: "t1", name: "f", content: [{ type: "text", text: "42" }] },
          { role: "user", content: [{ type: "text", text: "and?" }] },
        ],
        tools: [{ name: "f", description: "d", parameters: { type: "object" }, cacheBreakpoint: true }],
        toolChoice: { type: "required" },
        parallelToolCalls: false,
        temperature: 0.5,
        topP: 0.9,
        stop: ["END"],
      },
    });
  });

  it("maps tool_choice auto, none and tool", () => {
    const choice = (tool_choice: unknown) => parseMessagesRequest({ ...base, tool_choice } as never).request.toolChoice;
    expect(choice({ type: "auto" })).toEqual({ type: "auto" });
    expect(choice({ type: "none" })).toEqual({ type: "none" });
    expect(choice({ type: "tool", name: "f" })).toEqual({ type: "tool", name: "f" });
  });

  it("maps thinking to the reasoning effort: budgets as the Anthropic adapter's inverse, adaptive by output_config.effort, else high", () => {
    const effort = (extra: Record<string, unknown>) => parseMessagesRequest({ ...base, max_tokens: 10_000, ...extra } as never).request.reasoningEffort;
    expect(effort({ thinking: { type: "enabled", budget_tokens: 1024 } })).toBe("low");
    expect(effort({ thinking: { type: "enabled", budget_tokens: 2048 } })).toBe("medium");
    expect(effort({ thinking: { type: "enabled", budget_tokens: 4095 } })).toBe("medium");
    expect(effort({ thinking: { type: "enabled", budget_tokens: 8000 } })).toBe("high");
    expect(effort({ thinking: { type: "adaptive" } })).toBe("high");
    expect(effort({ thinking: { type: "adaptive" }, output_config: { effort: "low" } })).toBe("low");
    expect(effort({ thinking: { type: "adaptive" }, output_config: { effort: "max" } })).toBe("high");
    expect(effort({ thinking: { type: "disabled" } })).toBeUndefined();
    expect(effort({})).toBeUndefined();
  });

  it("refuses what it cannot honour with a 400 naming the field", () => {
    expect(paramOf({ model: "fast", messages: base.messages })).toBe("max_tokens");
    expect(paramOf({ ...base, max_tokens: 0 })).toBe("max_tokens");
    expect(paramOf({ ...base, messages: [] })).toBe("messages");
    expect(paramOf({ ...base, messages: [{ role: "system", content: "x" }] })).toBe("messages[0].role");
    expect(paramOf({ ...base, messages: [{ role: "user", content: [{ type: "document", source: {} }] }] })).toBe("messages[0].content[0].type");
    expect(paramOf({ ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "http://x/y.png" } }] }] })).toBe("messages[0].content[0].source.url");
    expect(paramOf({ ...base, messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: { type: "ephemeral", ttl: "1h" } }] }] })).toBe(
      "messages[0].content[0].cache_control.ttl",
    );
    expect(paramOf({ ...base, tools: [{ name: "f" }] })).toBe("tools[0].input_schema");
    expect(paramOf({ ...base, tools: [{ type: "web_search_20250305", name: "web_search" }] })).toBe("tools[0].type");
    expect(paramOf({ ...base, tool_choice: { type: "required" } })).toBe("tool_choice.type");
    expect(paramOf({ ...base, temperature: 1.5 })).toBe("temperature");
    expect(paramOf({ ...base, top_k: -1 })).toBe("top_k");
    expect(paramOf({ ...base, thinking: { type: "enabled", budget_tokens: 512 } })).toBe("thinking.budget_tokens");
    expect(paramOf({ ...base, thinking: { type: "enabled", budget_tokens: 2048 } })).toBe("thinking.budget_tokens");
    expect(paramOf({ ...base, stop_sequences: [""] })).toBe("stop_sequences[0]");
    expect(paramOf({ ...base, mcp_servers: [] })).toBe("mcp_servers");
    expect(paramOf({ ...base, metadata: { user_id: 7 } })).toBe("metadata.user_id");
    // Unknown fields are ignored, as on the OpenAI surface.
    expect(paramOf({ ...base, service_tier: "auto", some_future_field: 1 })).toBe("no error");
  });
});
