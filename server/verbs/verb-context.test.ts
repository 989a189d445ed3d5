import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { testContext } from "./testing/test-context.js";
import { verbRequest } from "./verb-context.js";

describe("verbRequest", () => {
  it("property: a verb's own max_output_tokens never lifts the caller's limit", () => {
    const limit = fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined });
    fc.assert(
      fc.property(limit, limit, (callerMax, verbMax) => {
        const ctx = testContext(callerMax === undefined ? {} : { generation: { maxOutputTokens: callerMax } });
        const request = verbRequest(ctx, [], verbMax === undefined ? {} : { maxOutputTokens: verbMax });
        const limits = [callerMax, verbMax].filter((n): n is number => n !== undefined);
        if (limits.length === 0) expect(request).not.toHaveProperty("maxOutputTokens");
        else expect(request.maxOutputTokens).toBe(Math.min(...limits));
      }),
    );
  });

  it("carries the caller's reasoning effort onto every call, unless the verb sets its own", () => {
    const ctx = testContext({ generation: { reasoningEffort: "high" } });
    expect(verbRequest(ctx, []).reasoningEffort).toBe("high");
    expect(verbRequest(ctx, [], { reasoningEffort: "low" }).reasoningEffort).toBe("low");
    expect(verbRequest(testContext(), [])).not.toHaveProperty("reasoningEffort");
  });

  it("carries options.prompt_caching AUTO onto every call of the verb", () => {
    expect(verbRequest(testContext({ generation: { promptCaching: "auto" } }), []).promptCaching).toBe("auto");
    expect(verbRequest(testContext(), [])).not.toHaveProperty("promptCaching");
  });
});
