import { tokenCount } from "../token-count.js";
import type { ModelFinishReason, TokenUsage } from "../model.js";
import type { WireUsage } from "./wire.js";

/**
 * Maps Anthropic usage to the neutral counts. Anthropic's `input_tokens` excludes the cached and
 * cache-written tokens, so the neutral `inputTokens` adds them back; `output_tokens` already
 * includes thinking tokens (`output_tokens_details.thinking_tokens`).
 */
export function toTokenUsage(usage: WireUsage): TokenUsage {
  const cacheRead = tokenCount(usage.cache_read_input_tokens);
  const cacheWrite = tokenCount(usage.cache_creation_input_tokens);
  return {
    inputTokens: tokenCount(usage.input_tokens) + cacheRead + cacheWrite,
    outputTokens: tokenCount(usage.output_tokens),
    cachedInputTokens: cacheRead,
    cacheWriteInputTokens: cacheWrite,
    reasoningTokens: tokenCount(usage.output_tokens_details?.thinking_tokens),
    estimated: false,
  };
}

export { estimateTokens, requestChars } from "../usage-estimate.js";

/** `stop_reason` → neutral finish reason. */
export function toFinishReason(stopReason: string | null | undefined): ModelFinishReason {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "unknown";
  }
}


/**
 * The finish reason of an answer given through the structured-output tool: a normal stop, not
 * `tool_calls`, unless the model also called one of the caller's tools.
 */
export function answerFinishReason(reason: ModelFinishReason, answered: boolean, callerToolCalls: number): ModelFinishReason {
  return answered && reason === "tool_calls" && callerToolCalls === 0 ? "stop" : reason;
}
