import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileDenyList } from "./deny-list.js";

const PHRASES = ["launch codes", "codes red", "Top  Secret", "ass", "x-ray!"];
const list = compileDenyList(PHRASES);

/** The phrases as the matcher sees them: trimmed, lower case, one space per whitespace run. */
const normalised = PHRASES.map((p) => p.trim().replace(/\s+/g, " ").toLowerCase());
const norm = (text: string) => text.replace(/\s+/g, " ").toLowerCase();

/** Naive reference: the smallest offset whose tail, normalised, is still a prefix of a phrase. */
function naivePendingStart(text: string): number {
  for (let q = 0; q < text.length; q++) if (normalised.some((p) => p.startsWith(norm(text.slice(q))))) return q;
  return text.length;
}

/** Texts built from phrase pieces, near misses, filler and whitespace runs (ASCII: folding is plain lower-casing). */
const fragment = fc.oneof(
  fc.constantFrom(...PHRASES, "LAUNCH", "launch  ", "codes", "class", "x-ray", "top", "secret", "a", "s", "c", "the ", "!"),
  fc.constantFrom(...PHRASES).chain((p) => fc.nat(p.length).map((n) => p.slice(0, n))),
  fc.constantFrom(" ", "   ", "\n\t ", "\n"),
);
const text = fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join(""));

describe("deny list: pendingStart (what a stream must still hold back)", () => {
  it("holds back nothing when the text ends in no phrase prefix, and exactly the prefix otherwise", () => {
    const one = compileDenyList(["forbidden phrase"]);
    expect(one.pendingStart("hello world")).toBe(11);
    expect(one.pendingStart("hello world f")).toBe(12);
    expect(one.pendingStart("hello FORBIDDEN   ")).toBe(6);
    expect(one.pendingStart("hello forbidden phrase")).toBe(6); // complete, word boundary still undecided
    expect(one.pendingStart("hello forbidden   phrasex")).toBe(25);
    expect(compileDenyList([]).pendingStart("anything")).toBe(8);
  });

  it("equals the naive reference: the longest tail that is still a phrase prefix (property)", () => {
    fc.assert(
      fc.property(text, (t) => {
        expect(list.pendingStart(t)).toBe(naivePendingStart(t));
      }),
      { numRuns: 2000 },
    );
  });

  it("no match of a longer text that reaches past the cut starts before pendingStart (property)", () => {
    fc.assert(
      fc.property(text, text, (t, more) => {
        const p = list.pendingStart(t);
        for (const m of list.find(t + more)) if (m.end >= t.length) expect(m.start).toBeGreaterThanOrEqual(p);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("deny list: find", () => {
  const hits = (phrases: string[], text: string) => compileDenyList(phrases).find(text).map((h) => text.slice(h.start, h.end));

  it("needs a word boundary before a phrase that starts with a letter, as well as after one that ends with one", () => {
    expect(hits(["ass"], "a bass. a lass, an ass.")).toEqual(["ass"]);
    expect(hits(["ass"], "ass-backwards")).toEqual(["ass"]);
    expect(hits(["x-ray!"], "an x-ray!!")).toEqual(["x-ray!"]); // ends in punctuation: no boundary needed after it
  });

  it("reports the longest of the phrases starting at one offset, so a redaction masks all of it", () => {
    expect(hits(["top", "top secret"], "the top secret plan")).toEqual(["top secret"]);
    expect(hits(["top secret", "top"], "the TOP  secret plan, top")).toEqual(["TOP  secret", "top"]);
  });
});
