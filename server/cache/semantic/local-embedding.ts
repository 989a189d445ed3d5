import { hash32 } from "../../sandbox/seeded.js";

/** Dimensions of the local embedding. */
export const LOCAL_EMBEDDING_DIMENSIONS = 512;

const SEED = 0x5eca4e;
/** Weight of a character trigram relative to its whole word: spelling variants stay close. */
const TRIGRAM_WEIGHT = 0.3;
/** Weight of an unordered pair of neighbouring words. */
const PAIR_WEIGHT = 0.6;
/** Weight of a direction word with the word after it. */
const DIRECTION_WEIGHT = 1.5;
/** Words whose object decides the answer's direction. */
const DIRECTIONAL = new Set(["to", "from", "into", "than", "before", "after", "over", "under", "vs", "versus", "per"]);

/** Contractions spelled out, so "what's" and "what is" are the same words. */
const CONTRACTIONS: ReadonlyArray<[RegExp, string]> = [
  [/\bcan't\b/g, "can not"],
  [/\bwon't\b/g, "will not"],
  [/n't\b/g, " not"],
  [/'re\b/g, " are"],
  [/'m\b/g, " am"],
  [/'ll\b/g, " will"],
  [/'ve\b/g, " have"],
  [/'d\b/g, " would"],
  [/'s\b/g, " is"],
];

/**
 * Words that carry no meaning a cached answer depends on: articles, politeness and filler. Kept
 * deliberately small — negations, quantifiers, question words and prepositions stay, because
 * "with" vs "without" or "to" vs "from" changes the answer.
 */
const FILLER = new Set([
  "a", "an", "the", "please", "kindly", "hi", "hello", "hey", "thanks", "thank", "you", "could", "would", "can",
  "me", "i", "just", "quick", "quickly", "question", "tell", "some", "do", "does", "is", "are", "am", "be",
]);

/** Words whose presence flips an answer; a semantic hit needs the same set (see {@link promptSignature}). */
const NEGATIONS = new Set(["not", "no", "never", "without", "except", "nor", "none", "neither"]);

/** The content words of an already-normalized prompt, contractions spelled out, filler dropped, lightly stemmed. */
export function contentWords(normalized: string): string[] {
  let text = normalized.replace(/[’‘]/g, "'").replace(/\bhow to\b/g, "how do i");
  for (const [pattern, replacement] of CONTRACTIONS) text = text.replace(pattern, replacement);
  const words = text.match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((w) => !FILLER.has(w)).map(stem);
}

/** A very light stemmer: plural and a few verb endings, only on words long enough to keep a stem. */
function stem(word: string): string {
  if (/^\d+$/.test(word)) return word;
  if (word.length > 5 && word.endsWith("ing")) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith("es") && /(ss|sh|ch|x)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) return word.slice(0, -1);
  if (word.length > 4 && word.endsWith("ed")) return word.slice(0, -2);
  return word;
}

/**
 * The local embedding: a signed, hashed bag of content words plus their character trigrams, in
 * {@link LOCAL_EMBEDDING_DIMENSIONS} dimensions, L2-normalized. Deterministic (every replica
 * computes the same vector), free, and ~10 µs per prompt. It finds paraphrases that reuse the
 * same words — reordered, re-punctuated, re-cased, with contractions, politeness or plurals
 * changed — not synonyms; a route that wants those sets `RouteCachePolicy.embedding_route`.
 */
export function localEmbedding(normalized: string): Float32Array {
  const v = new Float32Array(LOCAL_EMBEDDING_DIMENSIONS);
  const add = (feature: string, weight: number) => {
    const h = hash32(feature, SEED);
    v[h % LOCAL_EMBEDDING_DIMENSIONS]! += (h & 0x80000000) === 0 ? weight : -weight;
  };
  const words = contentWords(normalized);
  words.forEach((word, i) => {
    add(`w:${word}`, 1);
    const padded = `#${word}#`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`t:${padded.slice(j, j + 3)}`, TRIGRAM_WEIGHT);
    const next = words[i + 1];
    if (next === undefined) return;
    // Neighbours, unordered ("tcp and udp" = "udp and tcp"), so one changed word costs its pairs too.
    add(word < next ? `p:${word}:${next}` : `p:${next}:${word}`, PAIR_WEIGHT);
    // Direction words keep their object: "100 usd to eur" is not "100 eur to usd".
    if (DIRECTIONAL.has(word)) add(`d:${word}:${next}`, DIRECTION_WEIGHT);
  });
  return unit(v);
}

/**
 * The facts a semantic hit must share exactly, whatever the similarity: every number and every
 * negation in the prompt. "Convert 100 USD" and "Convert 200 USD" are near-identical vectors with
 * different answers; so are "with sugar" and "without sugar".
 */
export function promptSignature(normalized: string): string {
  const words = contentWords(normalized);
  const numbers = (normalized.match(/\d+(?:[.,]\d+)*/g) ?? []).sort();
  const negations = words.filter((w) => NEGATIONS.has(w)).sort();
  return `${numbers.join(",")}|${negations.join(",")}`;
}

/** `v` scaled to unit length (a zero vector stays zero: it matches nothing). */
export function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  if (norm === 0) return v;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) v[i]! *= scale;
  return v;
}

/** Cosine similarity of two unit vectors (their dot product); 0 when their lengths differ. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}
