/**
 * Gemini answer pieces directly: tool-use prompt tokens are input, every filter reason is
 * content_filter, STOP with calls is tool_calls, and the request estimate reads the system
 * instruction, calls and tool results.
 */
import { describe, expect, it } from "vitest";
import { finishReasonOf, requestChars, usageOf } from "./response.js";

describe("gemini usageOf", () => {
  it("counts tool-use prompt tokens as input and thoughts as output", () => {
    expect(usageOf({ promptTokenCount: 100, toolUsePromptTokenCount: 20, cachedContentTokenCount: 64, candidatesTokenCount: 7, thoughtsTokenCount: 5 })).toEqual({
      inputTokens: 120,
      outputTokens: 12,
      cachedInputTokens: 64,
      cacheWriteInputTokens: 0,
      reasoningTokens: 5,
      estimated: false,
    });
  });
});

describe("gemini finishReasonOf", () => {
  it("maps every reason", () => {
    const reasons = ["STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "OTHER", undefined];
    expect(reasons.map((r) => finishReasonOf(r, false))).toEqual(["stop", "length", ...Array(8).fill("content_filter"), "unknown", "unknown"]);
    expect(finishReasonOf("STOP", true)).toBe("tool_calls");
    expect(finishReasonOf("MAX_TOKENS", true)).toBe("length");
  });
});

describe("gemini requestChars", () => {
  it("reads the system instruction, texts, function calls and function responses", () => {
    const chars = requestChars({
      systemInstruction: { parts: [{ text: "sys" }] },
      contents: [
        { role: "user", parts: [{ text: "hello" }] },
        { role: "model", parts: [{ functionCall: { name: "fn", args: { a: 1 } } }] },
        { role: "user", parts: [{ functionResponse: { name: "fn", response: { r: 2 } } }] },
      ],
    });
    // 3 + 5 + (2 + 7) + (2 + 7)
    expect(chars).toBe(26);
  });
});
