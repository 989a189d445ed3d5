/**
 * How a deny list reads text, normalised so Unicode tricks do not hide a phrase, with every unit
 * it reads mapped back to the original text:
 * - default-ignorable code points (zero-width spaces and joiners, U+2060, U+FEFF, the soft hyphen,
 *   variation selectors, bidi controls, tag characters) are dropped;
 * - each other code point is read in its compatibility decomposition (NFKD): fullwidth
 *   `ｂａｄ`, mathematical `𝐛𝐚𝐝`, circled `ⓑⓐⓓ` and the ligature `ﬁ` read as `bad` and `fi`,
 *   and `é` as `e` with a combining acute;
 * - combining marks (`\p{M}`) are set aside on the unit they follow, so `b̲a̲d̲` reads `bad`
 *   (whether a phrase needs them is the deny list's choice: an unaccented phrase does not);
 * - letters are case folded unless case-sensitive, and a whitespace run reads as one space.
 * Confusable letters of other scripts (Cyrillic `а` for Latin `a`) are not mapped: the Unicode
 * confusables table is large and maps letters real words use, so it would be neither cheap nor
 * precise here.
 *
 * A unit belongs to a cluster: the code point it was read from and the marks and ignorables after
 * it. Its span in the original text is its cluster's, so a match covers whole characters.
 */
export interface DenyListReader {
  /** Reads on until at least one more unit is read (true) or the text has ended (false). */
  read(): boolean;
  /** How many units have been read. */
  count(): number;
  /**
   * Units before this one are settled: a later cluster has begun (or the text ended), so their
   * marks and ends are final. The units of one code point are read together, so this is never
   * more than the longest decomposition (18 units, U+FDFA) behind {@link count}.
   */
  settled(): number;
  /** The normalised UTF-16 code unit `u` (one of the last `keep` plus a few). */
  code(u: number): number;
  /** Whether unit `u` was read from a letter, digit or `_` (for word boundaries). */
  word(u: number): boolean;
  /** Where unit `u`'s cluster starts in the original text. */
  start(u: number): number;
  /** Where it ends, after the marks and ignorables that follow it (final once settled). */
  end(u: number): number;
  /** The combining marks unit `u` carries, if any (final once settled). */
  marks(u: number): string | undefined;
}

/**
 * The most units one code point reads as: the longest NFKD decomposition, U+FDFA's 18. A code point
 * a later Unicode version decomposes into more reads as itself (the reader's window relies on it).
 */
export const MAX_UNITS_PER_CODE_POINT = 18;

const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
const MARK = /^\p{M}$/u;
const SPACE = /^\s$/;
const WORD = /^[\p{L}\p{N}_]$/u;
/** A text with nothing a deny list reads as a character: whitespace, ignorables and marks only. */
const INERT = /^[\s\p{Default_Ignorable_Code_Point}\p{M}]*$/u;
/** Everything at or above U+0080: a text without it needs no normalisation. */
const NON_ASCII = /[^\x00-\x7f]/;

/** Whether `text` is all ASCII, which normalisation leaves as it is (the fast path). */
export function isAscii(text: string): boolean {
  return !NON_ASCII.test(text);
}

/**
 * Whether `text` holds only whitespace, default-ignorable code points and combining marks: appended
 * to a text, it adds no unit a deny list reads (marks join the last one), so it can complete no
 * match but one of an accented phrase, and move no release point.
 */
export function isInertText(text: string): boolean {
  return INERT.test(text);
}

/** Whether the ASCII code `c` is whitespace as `\s` has it (tab to carriage return, space). */
export function isAsciiSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** Whether the ASCII code `c` is a letter, digit or `_`. */
export function isAsciiWord(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** The ASCII code `c` lower-cased (what {@link fold} does to ASCII, without its allocations). */
export function foldAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
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

/** One item a code point reads as: a unit (`code | word << 16`), a space, or a mark's code unit (`-2 - unit`). */
const SPACE_ITEM = -1;

/** How a code point reads: whether it joins the cluster before it (a mark, an ignorable), and its items. */
interface Reading {
  joins: boolean;
  items: number[];
}

function readingOf(cp: number, caseSensitive: boolean): Reading {
  const ch = String.fromCodePoint(cp);
  if (IGNORABLE.test(ch)) return { joins: true, items: [] };
  if (SPACE.test(ch)) return { joins: false, items: [SPACE_ITEM] };
  const items: number[] = [];
  for (const part of ch.normalize("NFKD")) {
    if (MARK.test(part)) for (let i = 0; i < part.length; i++) items.push(-2 - part.charCodeAt(i));
    else if (SPACE.test(part)) items.push(SPACE_ITEM);
    else {
      const word = WORD.test(part) ? 0x10000 : 0;
      // Astral letters stay as their two halves (unfolded), as before normalisation.
      if (part.length === 1) items.push((caseSensitive ? part.charCodeAt(0) : fold(part.charCodeAt(0))) | word);
      else for (let i = 0; i < part.length; i++) items.push(part.charCodeAt(i) | word);
    }
  }
  if (items.filter((item) => item >= SPACE_ITEM).length > MAX_UNITS_PER_CODE_POINT) return { joins: false, items: ch.split("").map((unit) => unit.charCodeAt(0)) };
  // Marks decompose to marks only (U+0344 to two), so a mark's reading joins its cluster whole.
  return { joins: MARK.test(ch) && items.every((item) => item < SPACE_ITEM), items };
}

/**
 * Reads `text` as a deny list does, a few units at a time, keeping the facts of the last `keep`
 * units (and of the units read with them): linear time, and memory for `keep` units whatever the
 * text's length. Each distinct code point is normalised once per text (a `Map` lookup after that):
 * a `normalize` and a few property tests per character would cost several times more. A lone
 * surrogate reads as itself.
 */
export function createDenyListReader(text: string, caseSensitive: boolean, keep: number): DenyListReader {
  // Room for `keep` units before the oldest unsettled one, and for what one read adds after it.
  const size = keep + 2 * MAX_UNITS_PER_CODE_POINT + 2;
  const codes = new Uint16Array(size);
  const words = new Uint8Array(size);
  const starts = new Int32Array(size);
  const ends = new Int32Array(size);
  const marks: Array<string | undefined> = new Array<string | undefined>(size).fill(undefined);
  const readings = new Map<number, Reading>();
  let i = 0;
  let count = 0;
  /** Where the current cluster starts, and its first unit. */
  let clusterStart = 0;
  let clusterFirst = 0;
  let prevSpace = false;
  const push = (code: number, word: number, next: number) => {
    const r = count % size;
    codes[r] = code;
    words[r] = word;
    starts[r] = clusterStart;
    ends[r] = next;
    marks[r] = undefined;
    count++;
  };
  /** Reads the code point at `i`. */
  const step = () => {
    const cp = text.codePointAt(i)!;
    const next = i + (cp > 0xffff ? 2 : 1);
    if (cp < 0x80) {
      clusterStart = i;
      clusterFirst = count;
      const space = isAsciiSpace(cp);
      if (!(space && prevSpace)) push(space ? 32 : caseSensitive ? cp : foldAscii(cp), isAsciiWord(cp) ? 1 : 0, next);
      prevSpace = space;
      i = next;
      return;
    }
    let reading = readings.get(cp);
    if (reading === undefined) readings.set(cp, (reading = readingOf(cp, caseSensitive)));
    if (!reading.joins) {
      clusterStart = i;
      clusterFirst = count;
    }
    for (const item of reading.items) {
      if (item >= 0) {
        push(item & 0xffff, item >>> 16, next);
        prevSpace = false;
      } else if (item === SPACE_ITEM) {
        if (!prevSpace) push(32, 0, next);
        prevSpace = true;
      } else if (count > clusterFirst) {
        // A mark goes on the unit before it in its cluster; one with none (at the start) is dropped.
        const r = (count - 1) % size;
        marks[r] = (marks[r] ?? "") + String.fromCharCode(-2 - item);
      }
    }
    // A starter's units end where it does (set by `push`); a mark or ignorable extends its cluster.
    if (reading.joins) for (let u = clusterFirst; u < count; u++) ends[u % size] = next;
    i = next;
  };
  return {
    read() {
      const before = count;
      while (i < text.length && count === before) step();
      return count > before;
    },
    count: () => count,
    settled: () => (i >= text.length ? count : clusterFirst),
    code: (u) => codes[u % size]!,
    word: (u) => words[u % size] === 1,
    start: (u) => starts[u % size]!,
    end: (u) => ends[u % size]!,
    marks: (u) => marks[u % size],
  };
}

/** All of `text` as a deny list reads it (for phrases, at compile time). */
export function readAll(text: string, caseSensitive: boolean): { codes: number[]; words: boolean[]; marks: Array<string | undefined> } {
  const reader = createDenyListReader(text, caseSensitive, text.length * MAX_UNITS_PER_CODE_POINT);
  while (reader.read());
  const codes: number[] = [];
  const words: boolean[] = [];
  const marks: Array<string | undefined> = [];
  for (let u = 0; u < reader.count(); u++) {
    codes.push(reader.code(u));
    words.push(reader.word(u));
    marks.push(reader.marks(u));
  }
  return { codes, words, marks };
}
