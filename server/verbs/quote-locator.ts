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
  starts: number[];
  /** For each UTF-16 unit of `text`: where its character ends in the original. */
  ends: number[];
}

/** Whitespace runs become one space; quotation marks and dashes fold to ASCII. */
function normalize(s: string): Normalized {
  let text = "";
  const starts: number[] = [];
  const ends: number[] = [];
  let spaceOpen = false;
  for (let i = 0; i < s.length; ) {
    const ch = String.fromCodePoint(s.codePointAt(i) ?? 0);
    const next = i + ch.length;
    if (IGNORED.has(ch)) {
      i = next;
      continue;
    }
    if (/\s/u.test(ch)) {
      if (spaceOpen) ends[ends.length - 1] = next;
      else {
        text += " ";
        starts.push(i);
        ends.push(next);
        spaceOpen = true;
      }
    } else {
      const folded = FOLD[ch] ?? ch;
      for (let k = 0; k < folded.length; k++) {
        starts.push(i);
        ends.push(next);
      }
      text += folded;
      spaceOpen = false;
    }
    i = next;
  }
  return { text, starts, ends };
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
  const trimmed = quote.trim();
  if (trimmed === "") return undefined;
  for (const q of [quote, trimmed]) {
    const at = source.indexOf(q);
    if (at >= 0) return { start: at, end: at + q.length };
  }
  const normalized = normalize(source);
  const stripped = unwrapped(trimmed);
  return normalizedMatch(normalized, trimmed) ?? (stripped === "" ? undefined : normalizedMatch(normalized, stripped));
}

/**
 * A UTF-16 offset of `text` as an offset in Unicode code points, the unit the API reports
 * (Python indexes strings by code point; JavaScript clients convert with `Array.from`).
 */
export function codePointOffset(text: string, utf16Offset: number): number {
  let n = 0;
  for (let i = 0; i < utf16Offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(c >= 0xdc00 && c <= 0xdfff && i > 0 && isHigh(text.charCodeAt(i - 1)))) n++;
  }
  return n;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
