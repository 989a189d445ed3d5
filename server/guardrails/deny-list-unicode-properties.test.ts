import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileDenyList } from "./deny-list.js";
import { compileReferenceDenyList } from "./deny-list-reference.testing.js";

/** Default-ignorable code points an evasion can hide inside a word (one astral: a variation selector supplement). */
const IGNORABLE = fc.constantFrom("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f", "\u{e0100}", "\u202a", "\u202e", "\u2066", "\u2069");
/** Combining marks: an underline, an acute accent, a combining enclosing circle. */
const MARK = fc.constantFrom("\u0332", "\u0301", "\u20dd");

const PHRASES = ["launch codes", "top  secret", "x-ray!", "café", "naïve plan", "ass"];
const list = compileDenyList(PHRASES);

/** `phrase` with `inserts` placed after the code point at each chosen index (never before the first one). */
function mangle(phrase: string, inserts: Array<{ at: number; what: string }>): string {
  const chars = [...phrase];
  const after = chars.map(() => "");
  for (const { at, what } of inserts) after[at % chars.length] += what;
  return chars.map((c, i) => c + after[i]).join("");
}

describe("deny list: evasions inserted anywhere in a phrase (property)", () => {
  it("still matches a phrase with ignorables and marks inserted anywhere, and the match spans all of it", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PHRASES),
        fc.array(fc.record({ at: fc.nat(), what: fc.oneof(IGNORABLE, MARK) }), { maxLength: 12 }),
        fc.constantFrom("", "so ", "well, ", "x\n"),
        fc.constantFrom("", " now", ".", ", \u200bok"),
        (phrase, inserts, before, after) => {
          const mangled = mangle(phrase, inserts);
          const text = before + mangled + after;
          expect(list.find(text)).toEqual([{ start: before.length, end: before.length + mangled.length }]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("still matches with only ignorables inserted, whichever phrase is accented", () => {
    fc.assert(
      fc.property(fc.constantFrom(...PHRASES), fc.array(fc.record({ at: fc.nat(), what: IGNORABLE }), { maxLength: 12 }), (phrase, inserts) => {
        const mangled = mangle(phrase, inserts);
        expect(compileDenyList([phrase]).find(` ${mangled} `)).toEqual([{ start: 1, end: 1 + mangled.length }]);
      }),
      { numRuns: 1000 },
    );
  });
});

/** ASCII texts from phrase pieces, near misses, punctuation and whitespace runs, as the ASCII deny-list tests build them. */
const ASCII_PHRASES = ["launch codes", "codes red", "Top  Secret", "ass", "x-ray!", "a_b", "9 lives"];
const asciiFragment = fc.oneof(
  fc.constantFrom(...ASCII_PHRASES, "LAUNCH", "launch  ", "class", "x-ray", "top", "a", "s", "_", "9", "!", "the "),
  fc.constantFrom(...ASCII_PHRASES).chain((p) => fc.nat(p.length).map((n) => p.slice(0, n))),
  fc.constantFrom(" ", "   ", "\n\t ", "\r\n", "\v\f"),
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 6 }),
);
const asciiText = fc.array(asciiFragment, { maxLength: 14 }).map((parts) => parts.join(""));
const asciiPhrases = fc.array(fc.oneof(fc.constantFrom(...ASCII_PHRASES), fc.string({ unit: fc.constantFrom("a", "s", "c", " ", "-", "_", "!"), minLength: 1, maxLength: 5 })), {
  minLength: 1,
  maxLength: 5,
});

describe("deny list: ASCII text (property)", () => {
  it("finds and holds back exactly what the implementation before normalisation did", () => {
    fc.assert(
      fc.property(asciiPhrases, fc.boolean(), asciiText, (phrases, caseSensitive, t) => {
        const now = compileDenyList(phrases, caseSensitive);
        const before = compileReferenceDenyList(phrases, caseSensitive);
        expect(now.find(t)).toEqual(before.find(t));
        expect(now.pendingStart(t)).toBe(before.pendingStart(t));
        expect(now.longest).toBe(before.longest);
      }),
      { numRuns: 3000 },
    );
  });

  it("reads the same on the normalising path (one ignorable in front forces it): offsets shift by one", () => {
    fc.assert(
      fc.property(asciiPhrases, fc.boolean(), asciiText, (phrases, caseSensitive, t) => {
        const now = compileDenyList(phrases, caseSensitive);
        const shifted = now.find(t).map((h) => ({ start: h.start + 1, end: h.end + 1 }));
        expect(now.find(`\u200b${t}`)).toEqual(shifted);
        expect(now.pendingStart(`\u200b${t}`)).toBe(now.pendingStart(t) + 1);
      }),
      { numRuns: 3000 },
    );
  });
});

/** Texts mixing phrase pieces with evasions: ignorables, marks, fullwidth and mathematical letters, a ligature, surrogate halves. */
const evasive = fc.oneof(
  asciiFragment,
  IGNORABLE,
  MARK,
  fc.constantFrom("ｌａｕｎｃｈ", "ｃｏｄｅｓ", "𝐚𝐬𝐬", "𝐬", "ﬁ", "é", "caf", "naïve", "ⓐ", "½", "\ud835", "\udc2c"),
);
const evasiveText = fc.array(evasive, { maxLength: 14 }).map((parts) => parts.join(""));

describe("deny list: pendingStart with evasions (property)", () => {
  it("no match of a longer text that reaches past the cut starts before pendingStart", () => {
    fc.assert(
      fc.property(evasiveText, evasiveText, (t, more) => {
        const p = list.pendingStart(t);
        expect(p).toBeLessThanOrEqual(t.length);
        for (const m of list.find(t + more)) if (m.end >= t.length) expect(m.start).toBeGreaterThanOrEqual(p);
      }),
      { numRuns: 3000 },
    );
  });

  it("reports matches in order, inside the text, never splitting a surrogate pair", () => {
    fc.assert(
      fc.property(evasiveText, (t) => {
        let at = 0;
        for (const m of list.find(t)) {
          expect(m.start).toBeGreaterThanOrEqual(at);
          expect(m.end).toBeGreaterThan(m.start);
          expect(m.end).toBeLessThanOrEqual(t.length);
          for (const edge of [m.start, m.end]) expect(/^[\udc00-\udfff]/.test(t.slice(edge)) && /[\ud800-\udbff]$/.test(t.slice(0, edge))).toBe(false);
          at = m.end;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
