/**
 * `toWireRequest` directly: the mappings the fake-driven adapter tests leave loose — a forced tool
 * keeps `disable_parallel_tool_use`, percent-encoded data URLs are re-encoded as base64, empty
 * system parts and empty turns are dropped, same-role turns merge, and the default max tokens.
 */
import { describe, expect, it } from "vitest";
import type { ModelRequest } from "../model.js";
import { toWireRequest } from "./request.js";

const opts = { defaultMaxTokens: 4096, stream: false };
const user = (text: string) => ({ role: "user" as const, content: [{ type: "text" as const, text }] });

describe("anthropic toWireRequest", () => {
  it("keeps disable_parallel_tool_use on a forced tool choice", () => {
    const body = toWireRequest({ model: "m", messages: [user("hi")], tools: [{ name: "f" }], toolChoice: { type: "tool", name: "f" }, parallelToolCalls: false }, opts);
    expect(body.tool_choice).toEqual({ type: "tool", name: "f", disable_parallel_tool_use: true });
  });

  it("re-encodes a percent-encoded data URL as base64 and passes a base64 one through", () => {
    const body = toWireRequest(
      {
        model: "m",
        messages: [{ role: "user", content: [{ type: "image", url: "data:image/svg+xml,%3Csvg%2F%3E" }, { type: "image", url: "data:image/png;base64,iVBORw==" }] }],
      },
      opts,
    );
    expect(body.messages[0]!.content).toEqual([
      { type: "image", source: { type: "base64", media_type: "image/svg+xml", data: Buffer.from("<svg/>").toString("base64") } },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw==" } },
    ]);
  });

  it("drops empty system parts and turns left empty, merging the same-role turns around them", () => {
    const req: ModelRequest = {
      model: "m",
      messages: [
        { role: "system", content: [{ type: "text", text: "" }, { type: "text", text: "be brief" }] },
        user("a"),
        { role: "assistant", content: [{ type: "text", text: "" }] },
        user("b"),
      ],
    };
    const body = toWireRequest(req, opts);
    expect(body.system).toEqual([{ type: "text", text: "be brief" }]);
    expect(body.messages).toEqual([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }]);
    expect(body.max_tokens).toBe(4096);
    expect(toWireRequest({ ...req, maxOutputTokens: 7 }, { defaultMaxTokens: 4096, stream: true })).toMatchObject({ max_tokens: 7, stream: true });
  });

  it("sends no system field when every system part is empty", () => {
    expect(toWireRequest({ model: "m", messages: [{ role: "system", content: [{ type: "text", text: "" }] }, user("x")] }, opts)).not.toHaveProperty("system");
  });
});
