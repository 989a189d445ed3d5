import { isHighSurrogate } from "../surrogates.js";
import { createDenyListReader, foldAscii, isAscii, isAsciiSpace, isAsciiWord, readAll, type DenyListReader } from "./deny-list-text.js";

/** A compiled deny list: finds every listed phrase in a text, in one linear pass. */
export interface DenyList {
  /**
   * Matches as `[start, end)` offsets into the original text, leftmost-longest and non-overlapping.
   * A match spans whole characters: from the first one of the phrase to the last, with the
   * ignorables and combining marks inside it and right after it (so a redaction masks them too).
   */
  find(text: string): Array<{ start: number; end: number }>;
  /**
   * The smallest offset `p` such that `text.slice(p)` may still grow into a match when more text
   * is appended (`text.length` when no phrase is in progress): the text matched so far by the
   * automaton's current state, mapped back to text offsets (a whitespace run counts once, an
   * ignorable or mark not at all). A complete match at the very end is included (its word boundary
   * is not decided yet), and so is a prefix a word boundary will rule out (conservative), and a
   * high surrogate ending the text (its pair may make it a letter of a phrase). No match of
   * `text + more` that ends at or past `text.length` starts before `p`.
   */
  pendingStart(text: string): number;
  /** Length of the longest phrase, in normalised units (what a streamed scan must keep in its window). */
  readonly longest: number;
}

/** A phrase as the automaton reads it. */
interface Phrase {
  length: number;
  /** Whether it starts, and ends, with a letter, digit or `_`: a word boundary is needed there. */
  wordStart: boolean;
  wordEnd: boolean;
  /** Per unit, the combining marks the text must carry there: only for a phrase with accents. */
  marks?: ReadonlyArray<string | undefined>;
}

/**
 * Compiles phrases into an Aho-Corasick automaton: matching costs O(text + matches) whatever the
 * number of phrases (the schema allows 10 000). Case-insensitive unless `caseSensitive`. A phrase
 * that starts or ends with a letter or digit matches only at a word boundary there ("ass" does
 * not match inside "class"); whitespace inside a phrase matches any run of whitespace.
 *
 * Phrases and texts are read the same way (`deny-list-text.ts`): ignorables dropped, NFKD
 * compatibility forms, combining marks set aside. Matching is accent-insensitive only for a phrase
 * with no combining mark in it: "cafe" matches "café", "cafè" and "c̲a̲f̲e̲", while "café" matches
 * only text with the acute on its "e" (other marks are ignored, so "c̲a̲f̲é̲" too, not "cafe").
 * Someone who writes the accent means that word; someone who does not means any spelling of it.
 * All-ASCII text (no ignorable, mark or compatibility form in it) skips normalisation.
 */
export function compileDenyList(phrases: readonly string[], caseSensitive = false): DenyList {
  const cleaned: Array<{ codes: number[]; phrase: Phrase }> = [];
  for (const raw of phrases) {
    const read = readAll(raw, caseSensitive);
    let from = 0;
    let to = read.codes.length;
    while (from < to && read.codes[from] === 32) from++;
    while (to > from && read.codes[to - 1] === 32) to--;
    if (from === to) continue;
    const marks = read.marks.slice(from, to);
    const phrase: Phrase = { length: to - from, wordStart: read.words[from]!, wordEnd: read.words[to - 1]! };
    if (marks.some((m) => m !== undefined)) phrase.marks = marks;
    cleaned.push({ codes: read.codes.slice(from, to), phrase });
  }
  const next: Array<Map<number, number>> = [new Map()];
  const fail: number[] = [0];
  const out: number[][] = [[]];
  /** Phrase units a node stands for (its depth in the trie). */
  const depth: number[] = [0];
  cleaned.forEach(({ codes }, id) => {
    let node = 0;
    for (const c of codes) {
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
  const list = cleaned.map((p) => p.phrase);
  const longest = list.reduce((m, p) => Math.max(m, p.length), 0);
  /** The automaton's move on one normalised unit. */
  const advance = (node: number, c: number): number => {
    while (node !== 0 && !next[node]!.has(c)) node = fail[node]!;
    return next[node]!.get(c) ?? 0;
  };

  /**
   * The fast path, for all-ASCII text: normalisation would leave it as it is but for case and
   * whitespace runs, so the automaton reads it directly, calling `visit` with the state after each
   * character read; returns the final state.
   */
  const runAscii = (text: string, visit?: (node: number, i: number) => void): number => {
    let node = 0;
    let prevSpace = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const space = isAsciiSpace(c);
      if (space && prevSpace) continue;
      prevSpace = space;
      node = advance(node, space ? 32 : caseSensitive ? c : foldAscii(c));
      visit?.(node, i);
    }
    return node;
  };

  return {
    longest,
    find(text) {
      const hits: Array<{ start: number; end: number }> = [];
      if (isAscii(text)) {
        runAscii(text, (node, i) => {
          for (const id of out[node]!) {
            const phrase = list[id]!;
            // ASCII text has no marks: an accented phrase cannot match it.
            if (phrase.marks !== undefined) continue;
            const start = asciiStartOf(text, i + 1, phrase.length);
            const end = i + 1;
            if (phrase.wordStart && start > 0 && isAsciiWord(text.charCodeAt(start - 1))) continue;
            if (phrase.wordEnd && end < text.length && isAsciiWord(text.charCodeAt(end))) continue;
            hits.push({ start, end });
          }
        });
        return leftmostLongest(hits);
      }
      // Units are read a few at a time: a match is settled once the unit after it is read (its word
      // boundary) and its last cluster has ended (its marks, and its end in the text).
      const reader = createDenyListReader(text, caseSensitive, longest + 1);
      const waiting: Array<{ id: number; last: number; start: number }> = [];
      const settle = () => {
        if (waiting.length === 0) return;
        const settled = reader.settled();
        let kept = 0;
        for (const c of waiting) {
          if (c.last >= settled) {
            waiting[kept++] = c;
            continue;
          }
          const phrase = list[c.id]!;
          if (phrase.wordEnd && c.last + 1 < reader.count() && reader.word(c.last + 1)) continue;
          if (phrase.marks !== undefined && !carriesMarks(reader, c.last + 1 - phrase.length, phrase.marks)) continue;
          hits.push({ start: c.start, end: reader.end(c.last) });
        }
        waiting.length = kept;
      };
      let node = 0;
      let k = 0;
      while (reader.read()) {
        settle();
        for (; k < reader.count(); k++) {
          node = advance(node, reader.code(k));
          for (const id of out[node]!) {
            const phrase = list[id]!;
            const first = k + 1 - phrase.length;
            if (phrase.wordStart && first > 0 && reader.word(first - 1)) continue;
            waiting.push({ id, last: k, start: reader.start(first) });
          }
        }
      }
      settle();
      return leftmostLongest(hits);
    },
    pendingStart(text) {
      // The final state is the longest suffix of the normalised text that is a prefix of some
      // phrase: any match still to come starts inside it.
      if (isAscii(text)) return asciiStartOf(text, text.length, depth[runAscii(text)]!);
      // A high surrogate at the end is read with the low one still to come: held, and not read.
      const body = isHighSurrogate(text.charCodeAt(text.length - 1)) ? text.slice(0, -1) : text;
      const reader = createDenyListReader(body, caseSensitive, longest + 1);
      let node = 0;
      let k = 0;
      /** Where the cluster of the last unit at which some phrase ended starts (-1: none). */
      let lastEnd = -1;
      while (reader.read()) {
        for (; k < reader.count(); k++) {
          node = advance(node, reader.code(k));
          if (out[node]!.length > 0) lastEnd = reader.start(k);
        }
      }
      const d = depth[node]!;
      let p = d === 0 ? body.length : reader.start(k - d);
      // A phrase ending inside the last character (the "1" of "½") has its match end after that
      // character's marks, some of which may be still to come: it is in progress too.
      if (lastEnd >= 0 && lastEnd === reader.start(k - 1)) p = Math.min(p, lastEnd);
      return p;
    },
  };
}

/** Whether the units of `text` from `first` carry the marks an accented phrase puts on each (others may be there too). */
function carriesMarks(text: DenyListReader, first: number, marks: ReadonlyArray<string | undefined>): boolean {
  for (let j = 0; j < marks.length; j++) {
    const want = marks[j];
    if (want === undefined) continue;
    const have = text.marks(first + j);
    if (have === undefined) return false;
    for (const mark of want) if (!have.includes(mark)) return false;
  }
  return true;
}

/** Where a match of `length` units ending at `end` of ASCII text starts (whitespace runs count once). */
function asciiStartOf(text: string, end: number, length: number): number {
  let i = end;
  let remaining = length;
  while (remaining > 0 && i > 0) {
    i--;
    if (isAsciiSpace(text.charCodeAt(i))) while (i > 0 && isAsciiSpace(text.charCodeAt(i - 1))) i--;
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
