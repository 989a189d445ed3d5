/**
 * Deterministic text and token arithmetic shared by the fakes, so every wire format reports the
 * same counts for the same conversation and tests can compute expected usage exactly.
 */

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

/** A text of exactly `n` tokens (for the overrun fault): "lorem lorem …". */
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

/** A deterministic unit-length-ish vector for a text (embeddings fakes). */
export function fakeVector(text: string, dimensions: number): number[] {
  const out: number[] = [];
  let h = 2166136261;
  for (let i = 0; i < dimensions; i++) {
    for (const ch of `${i}:${text}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    out.push(((h >>> 0) % 2000) / 1000 - 1);
  }
  return out;
}
