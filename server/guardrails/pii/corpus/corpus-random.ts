/**
 * A seeded pseudo-random source for the synthetic PII corpus: mulberry32, so the same seed gives
 * the same corpus on every machine and every run (no `Math.random`).
 */
export interface CorpusRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
  /** `n` characters drawn from `alphabet`. */
  chars(alphabet: string, n: number): string;
  /** `n` decimal digits. */
  digits(n: number): string;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/** Creates the random source of one corpus from a 32-bit seed. */
export function createCorpusRandom(seed: number): CorpusRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const chars = (alphabet: string, n: number) => {
    let out = "";
    for (let i = 0; i < n; i++) out += alphabet[int(0, alphabet.length - 1)];
    return out;
  };
  return {
    next,
    int,
    pick: (items) => items[int(0, items.length - 1)]!,
    chars,
    digits: (n) => chars("0123456789", n),
    chance: (p) => next() < p,
  };
}
