/**
 * Prompt-cache breakpoints on the Messages API body: neutral marks land as `cache_control` on the
 * right blocks (tools, the system array, message blocks, a tool message's `tool_result`), AUTO
 * places its own, and a body never carries more than 4 (the last 4 in prompt order are kept).
 */
import { describe, expect, it } from "vitest";
import type { ModelMessage, ModelRequest } from "../model.js";
import { toWireRequest } from "./request.js";
import type { WireRequest } from "./wire.js";

const opts = { defaultMaxTokens: 4096, stream: false };
const EPHEMERAL = { type: "ephemeral" };
const text = (t: string, mark = false) => ({ type: "text" as const, text: t, ...(mark ? { cacheBreakpoint: true } : {}) });
const user = (t: string, mark = false): ModelMessage => ({ role: "user", content: [text(t, mark)] });
const assistant = (t: string): ModelMessage => ({ role: "assistant", content: [text(t)] });

/** Where `cache_control` is, as "tools[i]", "system[i]", "messages[i][j]" or "messages[i][j].content[k]". */
function marks(body: WireRequest): string[] {
  const out: string[] = [];
  (body.tools ?? []).forEach((t, i) => t.cache_control !== undefined && out.push(`tools[${i}]`));
  (body.system ?? []).forEach((b, i) => b.cache_control !== undefined && out.push(`system[${i}]`));
  body.messages.forEach((m, i) =>
    m.content.forEach((b, j) => {
      if (b.cache_control !== undefined) out.push(`messages[${i}][${j}]`);
      if (b.type === "tool_result") b.content?.forEach((c, k) => c.cache_control !== undefined && out.push(`messages[${i}][${j}].content[${k}]`));
    }),
  );
  return out;
}

describe("anthropic cache_control", () => {
  it("sends no cache_control when nothing is marked and caching is not AUTO", () => {
    const body = toWireRequest({ model: "m", messages: [{ role: "system", content: [text("be brief")] }, user("hi")], tools: [{ name: "f" }] }, opts);
    expect(marks(body)).toEqual([]);
    expect(JSON.stringify(body)).not.toContain("cache");
  });

  it("puts marks on the tool, the system block (array form) and the message block they are on", () => {
    const req: ModelRequest = {
      model: "m",
      tools: [{ name: "a" }, { name: "b", cacheBreakpoint: true }],
      messages: [
        { role: "system", content: [text("rules", true), text("more rules")] },
        { role: "user", content: [text("long document", true), text("question")] },
      ],
    };
    const body = toWireRequest(req, opts);
    expect(body.tools![1]).toEqual({ name: "b", input_schema: { type: "object", properties: {} }, cache_control: EPHEMERAL });
    expect(body.tools![0]).not.toHaveProperty("cache_control");
    expect(body.system).toEqual([{ type: "text", text: "rules", cache_control: EPHEMERAL }, { type: "text", text: "more rules" }]);
    expect(body.messages[0]!.content).toEqual([{ type: "text", text: "long document", cache_control: EPHEMERAL }, { type: "text", text: "question" }]);
  });

  it("marks an image block, and a tool message's tool_result block (not its inner content)", () => {
    const req: ModelRequest = {
      model: "m",
      messages: [
        { role: "user", content: [{ type: "image", url: "https://example.com/a.png", cacheBreakpoint: true }] },
        { role: "assistant", content: [], toolCalls: [{ id: "t1", name: "f", argumentsJson: "{}" }] },
        { role: "tool", toolCallId: "t1", content: [text("result", true)] },
      ],
    };
    const body = toWireRequest(req, opts);
    expect(body.messages[0]!.content[0]).toEqual({ type: "image", source: { type: "url", url: "https://example.com/a.png" }, cache_control: EPHEMERAL });
    expect(body.messages[2]!.content[0]).toEqual({ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "result" }], cache_control: EPHEMERAL });
    expect(marks(body)).toEqual(["messages[0][0]", "messages[2][0]"]);
  });

  it("keeps the last 4 breakpoints in prompt order (tools, system, messages) when more are marked", () => {
    const req: ModelRequest = {
      model: "m",
      tools: [{ name: "a", cacheBreakpoint: true }],
      messages: [{ role: "system", content: [text("s", true)] }, user("u1", true), assistant("a1"), user("u2", true), assistant("a2"), user("u3", true)],
    };
    const body = toWireRequest(req, opts);
    expect(marks(body)).toEqual(["system[0]", "messages[0][0]", "messages[2][0]", "messages[4][0]"]);
  });

  it("AUTO marks the last tool, the last system block, the final message and the user turn before it", () => {
    const req: ModelRequest = {
      model: "m",
      promptCaching: "auto",
      tools: [{ name: "a" }, { name: "b" }],
      messages: [
        { role: "system", content: [text("rules"), text("more rules")] },
        user("first question"),
        assistant("first answer"),
        { role: "user", content: [text("second"), text("question")] },
      ],
    };
    const body = toWireRequest(req, opts);
    expect(marks(body)).toEqual(["tools[1]", "system[1]", "messages[0][0]", "messages[2][1]"]);
  });

  it("AUTO marks the final turn's last block even when it is a tool_result, and adds nothing where there is no tool or system", () => {
    const req: ModelRequest = {
      model: "m",
      promptCaching: "auto",
      messages: [
        user("weather?"),
        { role: "assistant", content: [], toolCalls: [{ id: "t1", name: "f", argumentsJson: "{}" }] },
        { role: "tool", toolCallId: "t1", content: [text("sunny")] },
      ],
    };
    const body = toWireRequest(req, opts);
    // The final turn (messages[2]) and the user turn before it (messages[0]).
    expect(marks(body)).toEqual(["messages[0][0]", "messages[2][0]"]);
    expect(body.messages[1]!.content[0]).not.toHaveProperty("cache_control");
  });

  it("AUTO with explicit marks: the union, capped at the last 4", () => {
    const req: ModelRequest = {
      model: "m",
      promptCaching: "auto",
      tools: [{ name: "a" }],
      messages: [{ role: "system", content: [text("s")] }, user("doc", true), assistant("a1"), user("u2")],
    };
    // AUTO: tools[0], system[0], messages[0][0] (user turn before the final), messages[2][0]; the
    // caller's mark is on messages[0][0] already: four in all.
    expect(marks(toWireRequest(req, opts))).toEqual(["tools[0]", "system[0]", "messages[0][0]", "messages[2][0]"]);
    const more: ModelRequest = { ...req, messages: [{ role: "system", content: [text("s")] }, { role: "user", content: [text("doc", true), text("q1")] }, assistant("a1"), user("u2")] };
    expect(marks(toWireRequest(more, opts))).toEqual(["system[0]", "messages[0][0]", "messages[0][1]", "messages[2][0]"]);
  });

  it("AUTO marks the synthetic structured-output tool when it is the last tool sent", () => {
    const body = toWireRequest({ model: "m", promptCaching: "auto", messages: [user("hi")], responseFormat: { type: "json_object" } }, opts);
    expect(body.tools).toHaveLength(1);
    expect(marks(body)).toEqual(["tools[0]", "messages[0][0]"]);
  });
});
