import { afterCall } from "../after-call.js";
import type { ModelPipeline } from "../pipeline/model-call.js";
import type { ModelFinishReason, ModelMessage } from "../providers/model.js";
import { buildChatCall, type ChatInput } from "./chat-request.js";
import type { VerbContext } from "./verb-context.js";
import { chatCallUsage, sumUsage, type VerbUsage } from "./verb-usage.js";

export type { ChatInput } from "./chat-request.js";

/** A Chat result. */
export interface ChatOutput {
  /** The assistant's message: text and/or tool calls. */
  message: ModelMessage;
  finishReason: ModelFinishReason;
  usage: VerbUsage;
}

/** Dependencies of the Chat verb. */
export interface ChatDeps {
  pipeline: ModelPipeline;
}

/** The Chat verb. */
export type ChatVerb = (input: ChatInput, ctx: VerbContext) => Promise<ChatOutput>;

/** Creates Chat: one pass-through model call (see `buildChatCall` for the attached-template rule). */
export function createChatVerb(deps: ChatDeps): ChatVerb {
  // A promise chain, not an `async` function: no suspended frame per call in flight (`afterCall`).
  return (input, ctx) =>
    afterCall(
      () => deps.pipeline.chat(buildChatCall(input, ctx)),
      (result) => {
        const r = result.response;
        const message: ModelMessage = {
          role: "assistant",
          content: r.text === "" ? [] : [{ type: "text", text: r.text }],
          ...(r.toolCalls.length === 0 ? {} : { toolCalls: r.toolCalls }),
        };
        return { message, finishReason: r.finishReason, usage: sumUsage([chatCallUsage(result)], ctx.template) };
      },
    );
}
