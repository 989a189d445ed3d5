/**
 * Gemini `GenerateContentResponse` → neutral answer pieces: finish reasons, usage, estimates.
 */
import { tokenCount } from "../token-count.js";
import type { ModelFinishReason, TokenUsage } from "../model.js";
import type { GeminiGenerateRequest, GeminiPart, GeminiUsage } from "./wire.js";

const FILTERED = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);

/**
 * Gemini's `finishReason` → neutral. `STOP` is `tool_calls` when the answer holds function calls
 * (Gemini has no finish reason of its own for them).
 */
export function finishReasonOf(reason: string | undefined, hasToolCalls: boolean): ModelFinishReason {
  if (reason === "STOP") return hasToolCalls ? "tool_calls" : "stop";
  if (reason === "MAX_TOKENS") return "length";
  if (reason !== undefined && FILTERED.has(reason)) return "content_filter";
  return "unknown";
}

/**
 * `usageMetadata` → `TokenUsage`. `promptTokenCount` already includes the cached tokens; tool-use
 * prompt tokens (results of Google-run tools fed back as input) are input too. Output is
 * `candidatesTokenCount + thoughtsTokenCount`. Gemini has no cache-write count.
 */
export function usageOf(u: GeminiUsage): TokenUsage {
  const reasoning = tokenCount(u.thoughtsTokenCount);
  return {
    inputTokens: tokenCount(u.promptTokenCount) + tokenCount(u.toolUsePromptTokenCount),
    outputTokens: tokenCount(u.candidatesTokenCount) + reasoning,
    cachedInputTokens: tokenCount(u.cachedContentTokenCount),
    cacheWriteInputTokens: 0,
    reasoningTokens: reasoning,
    estimated: false,
  };
}

export { estimateTokens, estimatedUsage } from "../usage-estimate.js";

/** Characters of everything the model reads in a request (texts, call args, tool results). */
export function requestChars(req: GeminiGenerateRequest): number {
  let chars = 0;
  const count = (p: GeminiPart) => {
    chars += p.text?.length ?? 0;
    if (p.functionCall) chars += p.functionCall.name.length + JSON.stringify(p.functionCall.args ?? {}).length;
    if (p.functionResponse) chars += p.functionResponse.name.length + JSON.stringify(p.functionResponse.response).length;
  };
  for (const p of req.systemInstruction?.parts ?? []) count(p);
  for (const c of req.contents) for (const p of c.parts) count(p);
  return chars;
}

