/**
 * A realistic token counter for the sandbox: close to what BPE tokenizers report for English
 * (about 1.3 tokens a word) without shipping a vocabulary. A token is a run of letters of up to
 * eight characters (longer runs split every six), up to three digits, or up to two other
 * characters; the whitespace before a token belongs to it, so the first `n` tokens re-join into a
 * prefix of the text.
 */
import type { TokenCounter } from "./word-text.js";

const PIECE = /\s*(?:[\p{L}\p{M}]+|\p{N}{1,3}|[^\s\p{L}\p{M}\p{N}]{1,2})|\s+/gu;
/** Longest letter run counted as one token, and the size of the pieces a longer one splits into. */
const WHOLE_WORD = 8;
const WORD_PIECE = 6;

function pieces(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PIECE)) {
    const piece = m[0];
    const letters = piece.trimStart();
    if (letters.length <= WHOLE_WORD || !/^[\p{L}\p{M}]/u.test(letters)) {
      // Trailing whitespace alone is not a token.
      if (letters !== "") out.push(piece);
      else if (out.length > 0) out[out.length - 1] += piece;
      continue;
    }
    const lead = piece.slice(0, piece.length - letters.length);
    const chars = Array.from(letters);
    for (let i = 0; i < chars.length; i += WORD_PIECE) out.push((i === 0 ? lead : "") + chars.slice(i, i + WORD_PIECE).join(""));
  }
  return out;
}

/** The sandbox's sub-word token counter. */
export const SUBWORD_TOKENS: TokenCounter = Object.freeze({
  count: (text: string) => pieces(text).length,
  first(text: string, n: number) {
    const all = pieces(text);
    if (all.length <= n) return { text, cut: false };
    return { text: all.slice(0, n).join("").trimEnd(), cut: true };
  },
});
