import { describe, expect, it } from "vitest";
import type { ModelRequest } from "../../providers/model.js";
import { semanticProbeOf } from "./prompt-text.js";

const request = (marked: boolean): ModelRequest => ({
  model: "",
  messages: [
    { role: "system", content: [{ type: "text", text: "Answer in French.", ...(marked ? { cacheBreakpoint: true } : {}) }] },
    { role: "user", content: [{ type: "text", text: "What is the capital of Spain?", ...(marked ? { cacheBreakpoint: true } : {}) }] },
  ],
  tools: [{ name: "lookup", ...(marked ? { cacheBreakpoint: true } : {}) }],
  ...(marked ? { promptCaching: "auto" as const } : {}),
});

describe("semanticProbeOf", () => {
  it("gives the same probe with and without prompt-cache breakpoints (they change the cost, not the answer)", () => {
    const plain = semanticProbeOf(request(false), [0, 1], { org: "o" });
    expect(plain).toBeDefined();
    expect(semanticProbeOf(request(true), [0, 1], { org: "o" })).toEqual(plain);
    // The context hash still follows the instructions.
    const other = request(true);
    other.messages[0]!.content = [{ type: "text", text: "Answer in German.", cacheBreakpoint: true }];
    expect(semanticProbeOf(other, [0, 1], { org: "o" })!.context).not.toBe(plain!.context);
  });
});
