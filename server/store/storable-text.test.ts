import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { storableCopy, storableText } from "./storable-text.js";

/** Node 20's V8 has `String.prototype.isWellFormed`; the project's TypeScript lib (ES2023) does not type it. */
const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

describe("storable text", () => {
  it("is text without NUL and without an unpaired surrogate", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom("\0", "\uD83D", "\uDE00", "\uD83D\uDE00", "a", "é"), fc.string({ unit: "binary", maxLength: 1 })), maxLength: 12 }), (s) => {
        expect(storableText(s)).toBe(!s.includes("\0") && wellFormed(s));
        const copy = storableCopy(s);
        expect(storableText(copy)).toBe(true);
        expect(copy.length).toBe(s.length);
        if (storableText(s)) expect(copy).toBe(s);
      }),
      { numRuns: 2000 },
    );
    expect(storableCopy("a\0b\uDC00c\uD83D\uDE00")).toBe("a\uFFFDb\uFFFDc\uD83D\uDE00");
  });
});
