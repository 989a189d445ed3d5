import type { ModelChunk, ModelRequest, TokenUsage } from "./model.js";
import { ProviderError, withUsage } from "./provider-error.js";

/**
 * The gateway's own token estimate, used only when a provider reports no usage (a cut stream,
 * a server that omits it): one token per 4 characters, rounded up — the usual rule of thumb for
 * English text across today's tokenizers. Every estimated usage is marked `estimated`.
 */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Characters of everything a request sends the model: texts, tool calls, tool definitions. */
export function requestChars(req: ModelRequest): number {
  let chars = 0;
  for (const message of req.messages) {
    for (const part of message.content) if (part.type === "text") chars += part.text.length;
    for (const call of message.toolCalls ?? []) chars += call.name.length + call.argumentsJson.length;
  }
  for (const tool of req.tools ?? []) chars += tool.name.length + (tool.description?.length ?? 0) + JSON.stringify(tool.parameters ?? {}).length;
  return chars;
}

/** An estimated usage from character counts. */
export function estimatedUsage(inputChars: number, outputChars: number): TokenUsage {
  return {
    inputTokens: estimateTokens(inputChars),
    outputTokens: estimateTokens(outputChars),
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: 0,
    estimated: true,
  };
}

/** The estimated usage of a request and an answer of `outputChars` characters. */
export function estimateUsage(req: ModelRequest, outputChars: number): TokenUsage {
  return estimatedUsage(requestChars(req), outputChars);
}

/**
 * What a stream that broke had consumed, from the provider's last report of it: the reported input
 * (cached and cache-written tokens included), and the output reported so far or estimated from the
 * `outputChars` that arrived, whichever is more; flagged estimated. P3: the provider's usage when
 * present, not an estimate of the characters (which prices cache reads at the full input rate).
 */
export function usageSoFar(reported: TokenUsage, outputChars: number): TokenUsage {
  return { ...reported, outputTokens: Math.max(reported.outputTokens, estimateTokens(outputChars)), estimated: true };
}

/**
 * Wraps an adapter's stream so that a failure after content carries what was consumed: a
 * `ProviderError` thrown without `usage` gets the estimate of the request and of the text and
 * tool arguments yielded so far. Money is billed for what a broken stream generated (P2).
 */
export async function* withPartialUsage(req: ModelRequest, stream: AsyncIterable<ModelChunk>): AsyncGenerator<ModelChunk> {
  let outputChars = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.type === "text") outputChars += chunk.text.length;
      else if (chunk.type === "tool_call") outputChars += chunk.argumentsDelta.length + (chunk.name?.length ?? 0);
      yield chunk;
    }
  } catch (err) {
    throw err instanceof ProviderError && outputChars > 0 ? withUsage(err, estimateUsage(req, outputChars)) : err;
  }
}
