import { fieldViolation } from "../errors/field-violation.js";
import type { ModelCall } from "../pipeline/model-call.js";
import type { ModelMessage, ModelRequest, ModelResponseFormat, ModelTool, ModelToolChoice } from "../providers/model.js";
import { callMetaFor, verbRequest, type VerbContext } from "./verb-context.js";
import { renderVerbPrompt } from "./verb-prompt.js";
import { effectiveToolChoice } from "./tool-choice.js";

/** A Chat or ChatStream request: the raw conversation and its controls. */
export interface ChatInput {
  messages: ModelMessage[];
  tools?: ModelTool[];
  toolChoice?: ModelToolChoice;
  responseFormat?: ModelResponseFormat;
  topP?: number;
  stop?: string[];
  seed?: number;
  parallelToolCalls?: boolean;
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** OpenAI surface only (the schema has no field for it). */
  logitBias?: Record<string, number>;
}

/** `o` without its undefined properties (a loop: this runs on every Chat call of both doors). */
function defined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * The model call of a Chat request. The conversation passes through unchanged, except when a
 * template is attached (`ctx.template`): its messages are rendered with no variables (a chat
 * template is fixed context, so a placeholder in it is INVALID_ARGUMENT naming it) and put
 * before the conversation, as the application's standing instructions. Every message of the
 * request is user content (the schema marks all message text so); the template's are not. The
 * tool choice is checked against the tools here, before dispatch (`effectiveToolChoice`).
 */
export function buildChatCall(input: ChatInput, ctx: VerbContext): ModelCall {
  if (input.messages.length === 0) throw fieldViolation("messages", "at least one message is required", "chat.messages.required");
  const toolChoice = effectiveToolChoice(input.toolChoice, input.tools);
  const prefix = ctx.template === undefined ? [] : renderVerbPrompt(ctx.template, {}, []).messages;
  const messages = [...prefix, ...input.messages];
  const userContent = input.messages.map((_, i) => prefix.length + i);
  const extra: Omit<Partial<ModelRequest>, "model" | "messages"> = defined({
    tools: input.tools,
    toolChoice,
    responseFormat: input.responseFormat,
    topP: input.topP,
    stop: input.stop,
    seed: input.seed,
    parallelToolCalls: input.parallelToolCalls,
    frequencyPenalty: input.frequencyPenalty,
    presencePenalty: input.presencePenalty,
    logitBias: input.logitBias,
  });
  return { meta: callMetaFor(ctx, "chat", ctx.template, userContent), request: verbRequest(ctx, messages, extra) };
}
