import { isHighSurrogate } from "../surrogates.js";

/**
 * Splitting long text into chunks that fit a size, on the most natural boundary available:
 * paragraphs, then lines, then sentences, then words, and only as a last resort in the middle
 * of a word (never inside a surrogate pair). Separators stay attached to the text before them,
 * so the chunks concatenate back to the input exactly.
 */

const BOUNDARIES: readonly RegExp[] = [
  // Paragraphs: a blank line (and the whitespace after it).
  /\n[ \t]*\r?\n\s*/g,
  // Lines.
  /\n/g,
  // Sentences: terminal punctuation, closing quotes or brackets, whitespace; CJK needs no space.
  /[.!?…]+["'”’)\]]*\s+|[。！？]+/g,
  // Words.
  /\s+/g,
];

/** `text` cut after every match of `boundary` (each piece keeps its trailing separator). */
function splitAfter(text: string, boundary: RegExp): string[] {
  const pieces: string[] = [];
  let last = 0;
  for (const m of text.matchAll(boundary)) {
    const end = m.index + m[0].length;
    if (end > last && end < text.length) {
      pieces.push(text.slice(last, end));
      last = end;
    }
  }
  pieces.push(text.slice(last));
  return pieces;
}

function hardCut(text: string, maxChars: number): string[] {
  const pieces: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(i + maxChars, text.length);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && end - i > 1 && isHighSurrogate(code)) end--;
    pieces.push(text.slice(i, end));
    i = end;
  }
  return pieces;
}

function pieces(text: string, maxChars: number, level: number): string[] {
  if (text.length <= maxChars) return [text];
  const boundary = BOUNDARIES[level];
  if (boundary === undefined) return hardCut(text, maxChars);
  return splitAfter(text, boundary).flatMap((p) => pieces(p, maxChars, level + 1));
}

/**
 * Splits `text` into chunks of at most `maxChars` characters (UTF-16 units), packing as many
 * whole pieces into each chunk as fit. `chunks.join("") === text` always holds.
 */
export function splitIntoChunks(text: string, maxChars: number): string[] {
  if (!(maxChars >= 2)) throw new RangeError(`maxChars must be at least 2, got ${maxChars}`);
  const chunks: string[] = [];
  let current = "";
  for (const p of pieces(text, Math.floor(maxChars), 0)) {
    if (current.length + p.length <= maxChars) {
      current += p;
    } else {
      if (current !== "") chunks.push(current);
      current = p;
    }
  }
  if (current !== "" || chunks.length === 0) chunks.push(current);
  return chunks;
}
