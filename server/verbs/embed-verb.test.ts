import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EmbedCall } from "../pipeline/model-call.js";
import { createEmbedVerb } from "./embed-verb.js";
import { createScriptedPipeline, type ScriptedStep } from "./testing/scripted-pipeline.js";
import { testContext } from "./testing/test-context.js";

describe("Embed", () => {
  it("property: returns one vector per input, in input order, and bills the one call", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string(), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), async (inputs, dims) => {
        // The vector of input i encodes i, so any reordering is visible.
        const pipeline = createScriptedPipeline((call): ScriptedStep => ({
          type: "embed",
          vectors: (call as EmbedCall).request.inputs.map((_, i) => Array.from({ length: dims }, (_, d) => i * 10 + d)),
          costMicrosUsd: 13n,
          usage: { inputTokens: inputs.length, outputTokens: 0 },
        }));
        const out = await createEmbedVerb({ pipeline })({ inputs }, testContext());
        expect(out.vectors).toEqual(inputs.map((_, i) => Array.from({ length: dims }, (_, d) => i * 10 + d)));
        expect(out.dimensions).toBe(dims);
        expect((pipeline.calls[0]?.call as EmbedCall).request.inputs).toEqual(inputs);
        expect([out.usage.modelCalls, out.usage.costMicrosUsd, out.usage.tokens.inputTokens]).toEqual([1, 13n, inputs.length]);
      }),
      { numRuns: 50 },
    );
  });

  it("fails rather than return vectors that cannot be matched to the inputs", async () => {
    const pipeline = createScriptedPipeline([{ type: "embed", vectors: [[1, 2]] }]);
    const err = await createEmbedVerb({ pipeline })({ inputs: ["a", "b"] }, testContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("1 vectors for 2 inputs");
  });

  it("leaves dimensions and input type out when the request does not set them (0 dimensions: the model's own)", async () => {
    const pipeline = createScriptedPipeline([{ type: "embed", vectors: [[1, 2, 3]] }]);
    await createEmbedVerb({ pipeline })({ inputs: ["a"], dimensions: 0 }, testContext());
    const request = (pipeline.calls[0]?.call as EmbedCall).request;
    expect(request).not.toHaveProperty("dimensions");
    expect(request).not.toHaveProperty("inputType");
  });

  it("rejects an empty input list before any call", async () => {
    const pipeline = createScriptedPipeline([]);
    const err = await createEmbedVerb({ pipeline })({ inputs: [] }, testContext()).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect(pipeline.calls).toHaveLength(0);
  });
});
