import { randomFillSync } from "node:crypto";
import type { ModelCallResult } from "../pipeline/model-call.js";
import type { JsonObject, ModelFinishReason, TokenUsage } from "../providers/model.js";

/** Anthropic's `usage` of a message. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

const ID_BYTES = 12;
/** Random bytes drawn 256 ids at a time (one `getrandom` instead of one per message); each byte is used once. */
const idPool = Buffer.allocUnsafe(ID_BYTES * 256);
let idOffset = idPool.length;

/** A new message id (`msg_` + 24 random hex digits), unique per answer. */
export function newMessageId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const hex = idPool.toString("hex", idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return `msg_${hex}`;
}

/**
 * The neutral finish reason as Anthropic's `stop_reason`: `length` is `max_tokens`, `tool_calls`
 * `tool_use`, `content_filter` `refusal`, and `stop` `end_turn`. The neutral answer does not say
 * whether a stop sequence ended it, so `stop_sequence` is never reported (a stop at one is an
 * `end_turn`). `unknown` is `tool_use` when the answer holds tool calls, else `end_turn`.
 */
export function stopReasonOf(reason: ModelFinishReason, hasToolCalls: boolean): string {
  switch (reason) {
    case "length":
      return "max_tokens";
    case "tool_calls":
      return "tool_use";
    case "content_filter":
      return "refusal";
    case "stop":
      return "end_turn";
    default:
      return hasToolCalls ? "tool_use" : "end_turn";
  }
}

/**
 * Neutral usage as Anthropic's: its `input_tokens` are the uncached ones (the neutral count holds
 * the cache-read and cache-written tokens too, which Anthropic reports beside it).
 */
export function anthropicUsageOf(u: TokenUsage): AnthropicUsage {
  return {
    input_tokens: Math.max(0, u.inputTokens - u.cachedInputTokens - u.cacheWriteInputTokens),
    output_tokens: u.outputTokens,
    cache_creation_input_tokens: u.cacheWriteInputTokens,
    cache_read_input_tokens: u.cachedInputTokens,
  };
}

/**
 * A tool call's arguments as a `tool_use` block's `input` object: the model's JSON text parsed;
 * text that is not a JSON object (a model's malformed arguments) is `{}`, as Anthropic's `input`
 * must be an object.
 */
export function toolInputOf(argumentsJson: string): JsonObject {
  try {
    const parsed: unknown = JSON.parse(argumentsJson === "" ? "{}" : argumentsJson);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
  } catch {
    return {};
  }
}

/**
 * A completed call as Anthropic's `Message`: a text block (when there is text), then one
 * `tool_use` block per call. `model` is the model that answered; the route alias stays in the
 * `x-switchboard-route` header.
 */
export function messageOf(result: ModelCallResult): Record<string, unknown> {
  const r = result.response;
  const content: Array<Record<string, unknown>> = [];
  if (r.text !== "" || r.toolCalls.length === 0) content.push({ type: "text", text: r.text });
  for (const c of r.toolCalls) content.push({ type: "tool_use", id: c.id, name: c.name, input: toolInputOf(c.argumentsJson) });
  return {
    id: newMessageId(),
    type: "message",
    role: "assistant",
    model: result.model,
    content,
    stop_reason: stopReasonOf(r.finishReason, r.toolCalls.length > 0),
    stop_sequence: null,
    usage: anthropicUsageOf(r.usage),
  };
}
