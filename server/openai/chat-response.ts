import { randomFillSync } from "node:crypto";
import type { ModelCallResult } from "../pipeline/model-call.js";
import type { ModelFinishReason, ModelToolCall, TokenUsage } from "../providers/model.js";

/** OpenAI's `usage` object of a chat completion. */
export interface OpenAIChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

const ID_BYTES = 12;
/** Random bytes drawn 256 ids at a time (one `getrandom` instead of one per response); each byte is used once. */
const idPool = Buffer.allocUnsafe(ID_BYTES * 256);
let idOffset = idPool.length;

/** A new completion id (`chatcmpl-` + 24 random hex digits), unique per response. */
export function newCompletionId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const hex = idPool.toString("hex", idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return `chatcmpl-${hex}`;
}

/**
 * The neutral finish reason as OpenAI's. `unknown` (the provider said nothing usable) becomes
 * `tool_calls` when the answer holds tool calls and `stop` otherwise, the two reasons a complete
 * answer can have.
 */
export function finishReasonOf(reason: ModelFinishReason, hasToolCalls: boolean): string {
  return reason === "unknown" ? (hasToolCalls ? "tool_calls" : "stop") : reason;
}

/** Neutral token usage as OpenAI's `usage`. */
export function usageOf(u: TokenUsage): OpenAIChatUsage {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

/** A tool call as OpenAI's `tool_calls[]` entry. */
export function toolCallOf(c: ModelToolCall): { id: string; type: "function"; function: { name: string; arguments: string } } {
  return { id: c.id, type: "function", function: { name: c.name, arguments: c.argumentsJson } };
}

/**
 * A completed call as OpenAI's `chat.completion` object. `model` is the model that answered (as
 * OpenAI reports the dated snapshot, not the alias asked for); the route alias stays in the
 * `x-switchboard-route` header.
 */
export function chatCompletionOf(result: ModelCallResult, created: number): Record<string, unknown> {
  const r = result.response;
  const message: Record<string, unknown> = { role: "assistant", content: r.text === "" && r.toolCalls.length > 0 ? null : r.text, refusal: null };
  if (r.toolCalls.length > 0) message.tool_calls = r.toolCalls.map(toolCallOf);
  return {
    id: newCompletionId(),
    object: "chat.completion",
    created,
    model: result.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(r.finishReason, r.toolCalls.length > 0) }],
    usage: usageOf(r.usage),
    system_fingerprint: null,
  };
}
