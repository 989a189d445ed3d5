/**
 * Deterministic text and token arithmetic shared by the scripted wire formats, so every format
 * reports the same counts for the same conversation and tests can compute expected usage exactly.
 */

/** How a wire format counts tokens and cuts a text at a token limit; the two must agree. */
export interface TokenCounter {
  /** Tokens in `text`. */
  count(text: string): number;
  /** The first `n` tokens of `text` (for max-tokens truncation), and whether it was cut. */
  first(text: string, n: number): { text: string; cut: boolean };
}

/** Tokens of a text as the fakes count them: one per whitespace-separated word. */
export function countTokens(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

/** The default reply to a prompt: "echo:" followed by the prompt's words. */
export function echoReply(prompt: string): string {
  return `echo: ${prompt}`.trim();
}

/** The first `n` tokens of a text (for max-tokens truncation), and whether it was cut. */
export function firstTokens(text: string, n: number): { text: string; cut: boolean } {
  const words = text.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length <= n) return { text, cut: false };
  return { text: words.slice(0, n).join(" "), cut: true };
}

/** One token per word: the arithmetic of the test fakes, which tests compute by hand. */
export const WORD_TOKENS: TokenCounter = Object.freeze({ count: countTokens, first: firstTokens });

/** A text of exactly `n` tokens (for the overrun fault): "lorem lorem …" (one token per word in every counter here). */
export function filler(n: number): string {
  return Array.from({ length: n }, () => "lorem").join(" ");
}

/** Splits a text into streaming pieces of about `wordsPerPiece` words, keeping the spaces. */
export function streamPieces(text: string, wordsPerPiece = 2): string[] {
  const tokens = text.match(/\S+\s*/g) ?? [];
  const pieces: string[] = [];
  for (let i = 0; i < tokens.length; i += wordsPerPiece) pieces.push(tokens.slice(i, i + wordsPerPiece).join(""));
  return pieces.length > 0 ? pieces : [""];
}

/** A deterministic vector for a text, each component in [-1, 1) (the fakes' embeddings). */
export function hashedVector(text: string, dimensions: number): number[] {
  const out: number[] = [];
  let h = 2166136261;
  for (let i = 0; i < dimensions; i++) {
    for (const ch of `${i}:${text}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    out.push(((h >>> 0) % 2000) / 1000 - 1);
  }
  return out;
}
