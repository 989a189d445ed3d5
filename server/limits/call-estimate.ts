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

/**
 * The output tokens a stream nothing caps is held for, from the `chars` characters (UTF-16 code
 * units) it has produced, `nonAscii` of them outside ASCII ({@link nonAsciiUnits}): ASCII at 4 a
 * token, every other unit at one token. Four characters a token is right for English and code but
 * 4× short for CJK (about a token a character in today's tokenizers), and Hangul, Thai or
 * Devanagari are no cheaper; Cyrillic, Greek and accented Latin run 2–3 characters a token, so
 * for them this over-counts — which only extends a hold sooner (held, not spent), whereas an
 * under-count lets output run past its hold. An emoji (two units) counts 2, about what tokenizers
 * give it. Where a provider reports its own count mid-stream, that count is used when larger.
 */
export function estimateOutputTokens(chars: number, nonAscii: number): number {
  return Math.ceil((chars - nonAscii) / 4) + nonAscii;
}

/** UTF-16 code units of `text` outside ASCII (for {@link estimateOutputTokens}). */
export function nonAsciiUnits(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) n++;
  return n;
}
