import type { ModelMessage } from "../providers/model.js";

/**
 * Token estimates for sizing prompts without a tokenizer: 4 characters per token, which holds
 * for English text on current tokenizers and over-counts most code; plus a few tokens per
 * message for the chat framing. Good enough to keep requests inside a context window with the
 * margins Summarize leaves; never used for billing.
 */

/** Characters per estimated token. */
export const CHARS_PER_TOKEN = 4;

const MESSAGE_OVERHEAD_TOKENS = 4;

/** Estimated tokens of a text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** The text of a message's text parts, joined. */
export function messageText(m: ModelMessage): string {
  return m.content.map((p) => (p.type === "text" ? p.text : "")).join("");
}

/** Estimated input tokens of a list of messages. */
export function estimateMessagesTokens(messages: readonly ModelMessage[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(messageText(m)) + MESSAGE_OVERHEAD_TOKENS, 0);
}
