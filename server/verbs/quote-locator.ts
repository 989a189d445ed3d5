import { isHighSurrogate, isLowSurrogate } from "../surrogates.js";

/**
 * Finding a model's quote in its source. Models copy quotes faithfully but not byte-exactly:
 * they re-flow whitespace, straighten or curl quotation marks, change dash styles and sometimes
 * wrap the quote in quotation marks. The locator tries the exact text first, then a normalized
 * match, and always reports the span of the ORIGINAL source, so the quote a caller displays is
 * verbatim source text. It never matches case-blind or fuzzily: a changed word is not a quote.
 */

/** A span of the source, in UTF-16 code units (JavaScript string indexes), end exclusive. */
export interface QuoteSpan {
  start: number;
  end: number;
}

// Characters that carry no text and are dropped: zero-width space, soft hyphen, BOM.
const IGNORED = new Set(["\u200b", "\u00ad", "\ufeff"]);
const FOLD: Readonly<Record<string, string>> = {
  "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
  "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
  "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
};

interface Normalized {
  text: string;
  /** For each UTF-16 unit of `text`: where its character starts in the original. */
  starts: Int32Array;
  /** For each UTF-16 unit of `text`: where its character ends in the original. */
  ends: Int32Array;
}

// IGNORED and FOLD by UTF-16 unit (each of their characters is one unit).
const IGNORED_UNITS = new Set([...IGNORED].map((ch) => ch.charCodeAt(0)));
const FOLD_UNITS = new Map(Object.entries(FOLD).map(([ch, to]) => [ch.charCodeAt(0), to.charCodeAt(0)]));

/** Whether a UTF-16 unit is whitespace as `/\s/u` sees it (every such character is one unit). */
function isSpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/**
 * Whitespace runs become one space; quotation marks and dashes fold to ASCII. Works on UTF-16
 * units into preallocated arrays (a source runs to megabytes): a surrogate pair is copied as its
 * two units, both mapped to the pair's span.
 */
function normalize(s: string): Normalized {
  const units = new Uint16Array(s.length);
  const starts = new Int32Array(s.length);
  const ends = new Int32Array(s.length);
  let n = 0;
  let spaceOpen = false;
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    const width = isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1)) ? 2 : 1;
    const next = i + width;
    if (width === 2) {
      for (let k = 0; k < 2; k++) {
        units[n] = s.charCodeAt(i + k);
        starts[n] = i;
        ends[n++] = next;
      }
      spaceOpen = false;
    } else if (IGNORED_UNITS.has(c)) {
      // Carries no text.
    } else if (isSpace(c)) {
      if (spaceOpen) ends[n - 1] = next;
      else {
        units[n] = 0x20;
        starts[n] = i;
        ends[n++] = next;
        spaceOpen = true;
      }
    } else {
      units[n] = FOLD_UNITS.get(c) ?? c;
      starts[n] = i;
      ends[n++] = next;
      spaceOpen = false;
    }
    i = next;
  }
  // utf16le keeps lone surrogates as they are (a TextDecoder would replace them).
  const text = Buffer.from(units.buffer, units.byteOffset, n * 2).toString("utf16le");
  return { text, starts: starts.subarray(0, n), ends: ends.subarray(0, n) };
}

/** The quote without wrapping quotation marks and leading or trailing ellipses. */
function unwrapped(quote: string): string {
  return quote
    .trim()
    .replace(/^(?:\.\.\.|…)\s*/, "")
    .replace(/\s*(?:\.\.\.|…)$/, "")
    .replace(/^["'“”‘’«»]+|["'“”‘’«»]+$/g, "")
    .trim();
}

function normalizedMatch(source: Normalized, quote: string): QuoteSpan | undefined {
  const q = normalize(quote).text.trim();
  if (q === "") return undefined;
  const at = source.text.indexOf(q);
  if (at < 0) return undefined;
  const start = source.starts[at];
  const end = source.ends[at + q.length - 1];
  return start === undefined || end === undefined ? undefined : { start, end };
}

/**
 * Where `quote` occurs in `source` (first occurrence): exactly, else trimmed, else after
 * whitespace, quotation-mark and dash normalization, else without wrapping quotation marks or
 * ellipses. `undefined` when it does not occur or is blank.
 */
export function locateQuote(source: string, quote: string): QuoteSpan | undefined {
  return createQuoteLocator(source)(quote);
}

/**
 * `locateQuote` for many quotes of one source: the source is normalized at most once, on the
 * first quote not found verbatim (an answer cites a megabyte source many times).
 */
export function createQuoteLocator(source: string): (quote: string) => QuoteSpan | undefined {
  let normalized: Normalized | undefined;
  return (quote) => {
    const trimmed = quote.trim();
    if (trimmed === "") return undefined;
    for (const q of [quote, trimmed]) {
      const at = source.indexOf(q);
      if (at >= 0) return { start: at, end: at + q.length };
    }
    normalized ??= normalize(source);
    const stripped = unwrapped(trimmed);
    return normalizedMatch(normalized, trimmed) ?? (stripped === "" ? undefined : normalizedMatch(normalized, stripped));
  };
}

/**
 * A UTF-16 offset of `text` as an offset in Unicode code points, the unit the API reports
 * (Python indexes strings by code point; JavaScript clients convert with `Array.from`).
 */
export function codePointOffset(text: string, utf16Offset: number): number {
  let n = 0;
  for (let i = 0; i < utf16Offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(isLowSurrogate(c) && i > 0 && isHighSurrogate(text.charCodeAt(i - 1)))) n++;
  }
  return n;
}

