import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import { estimateTokens, requestChars } from "../providers/usage-estimate.js";

/** Tokens of chat framing per message that no character count sees. */
const MESSAGE_OVERHEAD_TOKENS = 4;

/**
 * The input tokens of a request before it is sent, without a tokenizer: characters / 4 (texts,
 * tool calls and tool definitions), plus a few tokens of framing per message. An estimate, not a
 * count: the budget books the provider's actual count at settle, past the cap if need be, so an
 * under-estimate costs at most the difference on one call.
 */
export function estimateInputTokens(request: ModelRequest | EmbedRequest): number {
  if ("inputs" in request) return request.inputs.reduce((n, text) => n + estimateTokens(text.length), 0);
  return estimateTokens(requestChars(request)) + MESSAGE_OVERHEAD_TOKENS * request.messages.length;
}
