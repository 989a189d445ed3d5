import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { estimateOutputTokens, nonAsciiUnits } from "./call-estimate.js";

describe("nonAsciiUnits", () => {
  it("counts every UTF-16 unit above 0x7F: accented Latin, CJK, both halves of an emoji", () => {
    expect(nonAsciiUnits("plain ASCII ~\u007f")).toBe(0);
    expect(nonAsciiUnits("café \u0080")).toBe(2);
    expect(nonAsciiUnits("你好")).toBe(2);
    expect(nonAsciiUnits("🙂")).toBe(2);
  });
});

describe("estimateOutputTokens", () => {
  it("counts a started group of four ASCII characters as a whole token, and every other unit as one", () => {
    expect(estimateOutputTokens(0, 0)).toBe(0);
    expect(estimateOutputTokens(1, 0)).toBe(1);
    expect(estimateOutputTokens(4, 0)).toBe(1);
    expect(estimateOutputTokens(5, 0)).toBe(2);
    const cjk = "你好, world";
    expect(estimateOutputTokens(cjk.length, nonAsciiUnits(cjk))).toBe(2 + 2); // 7 ASCII → 2, 2 CJK → 2
  });

  it("never counts fewer tokens than a quarter of the ASCII plus one per other unit (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (text) => {
        const other = nonAsciiUnits(text);
        const estimate = estimateOutputTokens(text.length, other);
        // An under-count lets output run past its hold; rounding up only extends it sooner.
        return estimate * 4 >= text.length - other + 4 * other && estimate * 4 < text.length - other + 4 * other + 4;
      }),
    );
  });
});
