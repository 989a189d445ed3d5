/**
 * The gateway's own usage estimate: 4 characters a token rounded up, over everything a request
 * sends (text, tool calls, tool definitions); a broken stream's usage keeps the provider's report
 * and never bills less output than the characters that arrived; and the wrapper that gives a
 * failed stream the estimate only once content arrived.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ModelChunk, ModelRequest } from "./model.js";
import { ProviderError } from "./provider-error.js";
import { estimateTokens, estimateUsage, requestChars, usageSoFar, withPartialUsage } from "./usage-estimate.js";

describe("estimateTokens", () => {
  it("is characters over 4, rounded up", () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), (chars) => {
        const t = estimateTokens(chars);
        expect(Number.isInteger(t)).toBe(true);
        expect(t * 4).toBeGreaterThanOrEqual(chars);
        expect((t - 1) * 4).toBeLessThan(chars);
      }),
    );
    expect([0, 1, 4, 5].map(estimateTokens)).toEqual([0, 1, 1, 2]);
  });
});

describe("requestChars", () => {
  it("counts texts, tool calls and tool definitions", () => {
    const req: ModelRequest = {
      model: "m",
      messages: [
        { role: "user", content: [{ type: "text", text: "abc" }, { type: "image", url: "https://x.test/a.png" }] },
        { role: "assistant", content: [], toolCalls: [{ id: "c", name: "fn", argumentsJson: '{"a":1}' }] },
      ],
      tools: [{ name: "fn", description: "desc", parameters: { type: "object" } }, { name: "g" }],
    };
    // 3 + (2 + 7) + (2 + 4 + 17) + (1 + 0 + 2)
    expect(requestChars(req)).toBe(3 + 9 + 23 + 3);
    expect(estimateUsage(req, 9)).toEqual({ inputTokens: 10, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });
});

describe("usageSoFar", () => {
  it("keeps the reported input and bills the larger of reported and streamed output, marked estimated", () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(10_000), fc.nat(40_000), (input, output, chars) => {
        const reported = { inputTokens: input, outputTokens: output, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false };
        const u = usageSoFar(reported, chars);
        expect(u).toEqual({ ...reported, outputTokens: Math.max(output, Math.ceil(chars / 4)), estimated: true });
      }),
    );
  });
});

describe("withPartialUsage", () => {
  const req: ModelRequest = { model: "m", messages: [{ role: "user", content: [{ type: "text", text: "12345678" }] }] };
  async function failureOf(chunks: ModelChunk[]): Promise<ProviderError> {
    async function* stream(): AsyncGenerator<ModelChunk> {
      yield* chunks;
      throw new ProviderError("stream_error", "cut");
    }
    try {
      for await (const _ of withPartialUsage(req, stream()));
    } catch (err) {
      return err as ProviderError;
    }
    throw new Error("the stream did not fail");
  }

  it("leaves a failure before any content without usage (nothing was generated)", async () => {
    expect((await failureOf([{ type: "start", model: "m" }])).usage).toBeUndefined();
  });

  it("estimates a failure after tool-call content from its names and arguments", async () => {
    const err = await failureOf([
      { type: "start", model: "m" },
      { type: "tool_call", index: 0, id: "c", name: "lookup", argumentsDelta: '{"q":' },
    ]);
    // "lookup" + '{"q":' = 11 chars → 3 tokens; 8 request chars → 2.
    expect(err.usage).toEqual({ inputTokens: 2, outputTokens: 3, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: true });
  });
});
