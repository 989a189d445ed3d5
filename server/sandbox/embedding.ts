/**
 * The sandbox's embeddings: a hashed bag of words with character trigrams, L2-normalised. Texts
 * that share words (or word stems) share components, so similar texts get a high cosine
 * similarity and a semantic cache has something real to find; the same text always gets the
 * same vector for a given seed.
 */
import { hash32 } from "./seeded.js";

/** Weight of each character trigram relative to a whole word. */
const TRIGRAM_WEIGHT = 0.25;

/** The vector of `text` with `dimensions` components and unit length. */
export function bagOfWordsVector(text: string, dimensions: number, seed: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  const add = (feature: string, weight: number) => {
    const h = hash32(feature, seed);
    v[h % dimensions]! += (h & 0x80000000) === 0 ? weight : -weight;
  };
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    add(`w:${word}`, 1);
    const padded = `#${word}#`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT);
  }
  const norm = Math.sqrt(v.reduce((n, x) => n + x * x, 0));
  if (norm === 0) {
    // No words at all: a fixed unit vector, so cosine similarity stays defined.
    v[0] = 1;
    return v;
  }
  return v.map((x) => x / norm);
}
