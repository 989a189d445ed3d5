/**
 * The deny list as it was before Unicode normalisation (commit 04cf170), frozen as the reference
 * the ASCII property test compares the current one with: on all-ASCII text the normalised matcher
 * must find exactly what this one found and hold back exactly what it held back. Do not change it.
 */
export interface ReferenceDenyList {
  /** Matches as `[start, end)` offsets, leftmost-longest and non-overlapping. */
  find(text: string): Array<{ start: number; end: number }>;
  /**
   * The smallest offset `p` such that `text.slice(p)` may still grow into a match when more text
   * is appended (`text.length` when no phrase is in progress): the text matched so far by the
   * automaton's current state, mapped back to text offsets (a whitespace run counts once). A
   * complete match at the very end is included (its word boundary is not decided yet), and so is
   * a prefix a word boundary will rule out (conservative). No match of `text + more` that ends
   * past `text.length` starts before `p`.
   */
  pendingStart(text: string): number;
  /** Length of the longest phrase (what a streamed scan must keep in its window). */
  readonly longest: number;
}

/**
 * Folds one UTF-16 code unit when that keeps it one code unit (offsets stay put): to the lower case
 * of its upper case, so the variants of one letter meet (final `ς` and `σ` as `Σ`), else to its
 * lower case.
 */
function fold(code: number): number {
  const ch = String.fromCharCode(code);
  const upper = ch.toUpperCase();
  const viaUpper = upper.length === 1 ? upper.toLowerCase() : "";
  if (viaUpper.length === 1) return viaUpper.charCodeAt(0);
  const lower = ch.toLowerCase();
  return lower.length === 1 ? lower.charCodeAt(0) : code;
}

const WORD = /[\p{L}\p{N}_]/u;
const SPACE = /\s/;
const isWord = (ch: string | undefined) => ch !== undefined && WORD.test(ch);

/**
 * Compiles phrases into an Aho-Corasick automaton: matching costs O(text + matches) whatever the
 * number of phrases (the schema allows 10 000). Case-insensitive unless `caseSensitive`. A phrase
 * that starts or ends with a letter or digit matches only at a word boundary there ("ass" does
 * not match inside "class"); whitespace inside a phrase matches any run of whitespace.
 */
export function compileReferenceDenyList(phrases: readonly string[], caseSensitive = false): ReferenceDenyList {
  const norm = (text: string) => {
    let out = "";
    for (let i = 0; i < text.length; i++) out += String.fromCharCode(caseSensitive ? text.charCodeAt(i) : fold(text.charCodeAt(i)));
    return out;
  };
  const cleaned = phrases.map((p) => norm(p.trim().replace(/\s+/g, " "))).filter((p) => p.length > 0);
  const next: Array<Map<number, number>> = [new Map()];
  const fail: number[] = [0];
  const out: number[][] = [[]];
  /** Phrase characters a node stands for (its depth in the trie). */
  const depth: number[] = [0];
  cleaned.forEach((phrase, id) => {
    let node = 0;
    for (let i = 0; i < phrase.length; i++) {
      const c = phrase.charCodeAt(i);
      let child = next[node]!.get(c);
      if (child === undefined) {
        child = next.length;
        next.push(new Map());
        fail.push(0);
        out.push([]);
        depth.push(depth[node]! + 1);
        next[node]!.set(c, child);
      }
      node = child;
    }
    out[node]!.push(id);
  });
  const queue: number[] = [...next[0]!.values()];
  for (let q = 0; q < queue.length; q++) {
    const node = queue[q]!;
    for (const [c, child] of next[node]!) {
      let f = fail[node]!;
      while (f !== 0 && !next[f]!.has(c)) f = fail[f]!;
      const target = next[f]!.get(c);
      fail[child] = target !== undefined && target !== child ? target : 0;
      out[child]!.push(...out[fail[child]!]!);
      queue.push(child);
    }
  }
  const longest = cleaned.reduce((m, p) => Math.max(m, p.length), 0);
  /** The automaton's move on one normalised character. */
  const advance = (node: number, c: number): number => {
    while (node !== 0 && !next[node]!.has(c)) node = fail[node]!;
    return next[node]!.get(c) ?? 0;
  };
  /**
   * Runs the automaton over `text` normalised as the phrases were (case folded unless
   * case-sensitive, a whitespace run read as one space), calling `visit` with the state after each
   * character read; returns the final state.
   */
  const run = (text: string, visit?: (node: number, i: number) => void): number => {
    let node = 0;
    let prevSpace = false;
    for (let i = 0; i < text.length; i++) {
      const space = SPACE.test(text[i]!);
      if (space && prevSpace) continue;
      prevSpace = space;
      node = advance(node, space ? 32 : caseSensitive ? text.charCodeAt(i) : fold(text.charCodeAt(i)));
      visit?.(node, i);
    }
    return node;
  };

  return {
    longest,
    find(text) {
      const hits: Array<{ start: number; end: number }> = [];
      run(text, (node, i) => {
        for (const id of out[node]!) {
          const phrase = cleaned[id]!;
          const start = startOf(text, i + 1, phrase.length);
          const end = i + 1;
          if (isWord(phrase[0]) && isWord(text[start - 1])) continue;
          if (isWord(phrase[phrase.length - 1]) && isWord(text[end])) continue;
          hits.push({ start, end });
        }
      });
      return leftmostLongest(hits);
    },
    pendingStart(text) {
      // The final state is the longest suffix of the normalised text that is a prefix of some
      // phrase: any match still to come starts inside it.
      return startOf(text, text.length, depth[run(text)]!);
    },
  };
}

/** Where a match of `length` normalised characters ending at `end` starts (whitespace runs count once). */
function startOf(text: string, end: number, length: number): number {
  let i = end;
  let remaining = length;
  while (remaining > 0 && i > 0) {
    i--;
    if (SPACE.test(text[i]!)) while (i > 0 && SPACE.test(text[i - 1]!)) i--;
    remaining--;
  }
  return i;
}

function leftmostLongest(hits: Array<{ start: number; end: number }>): Array<{ start: number; end: number }> {
  hits.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Array<{ start: number; end: number }> = [];
  for (const hit of hits) if (kept.length === 0 || hit.start >= kept[kept.length - 1]!.end) kept.push(hit);
  return kept;
}
