import { fieldViolation } from "../errors/field-violation.js";
import type { ModelPipeline } from "../pipeline/model-call.js";
import type { EmbedInputType } from "../providers/model.js";
import { callMetaFor, type VerbContext } from "./verb-context.js";
import { embedCallUsage, sumUsage, type VerbUsage } from "./verb-usage.js";

/** An Embed request. */
export interface EmbedInput {
  inputs: string[];
  /** Output dimensions, for models that can shorten their vectors; absent or 0: the model's. */
  dimensions?: number;
  inputType?: EmbedInputType;
}

/** An Embed result. */
export interface EmbedOutput {
  /** One vector per input, in input order. */
  vectors: number[][];
  /** Length of each vector. */
  dimensions: number;
  /** The model that produced the vectors. */
  model: string;
  usage: VerbUsage;
}

/** Dependencies of the Embed verb. */
export interface EmbedDeps {
  pipeline: ModelPipeline;
}

/** The Embed verb. */
export type EmbedVerb = (input: EmbedInput, ctx: VerbContext) => Promise<EmbedOutput>;

/** Creates Embed: one pass-through embeddings call; no template. */
export function createEmbedVerb(deps: EmbedDeps): EmbedVerb {
  return async (input, ctx) => {
    if (input.inputs.length === 0) throw fieldViolation("inputs", "at least one text is required", "embed.inputs.required");
    const result = await deps.pipeline.embed({
      meta: callMetaFor(ctx, "embed", undefined, undefined),
      request: {
        model: "",
        inputs: input.inputs,
        ...(input.dimensions ? { dimensions: input.dimensions } : {}),
        ...(input.inputType === undefined ? {} : { inputType: input.inputType }),
      },
    });
    const { vectors } = result.response;
    if (vectors.length !== input.inputs.length) {
      throw new Error(`embeddings call returned ${vectors.length} vectors for ${input.inputs.length} inputs`);
    }
    return { vectors, dimensions: vectors[0]?.length ?? 0, model: result.model, usage: sumUsage([embedCallUsage(result)]) };
  };
}
