import { describe, expect, it } from "vitest";
import { compileDenyList } from "./deny-list.js";

describe("deny list case folding", () => {
  it("is case-insensitive for Greek words ending in sigma (final ς vs Σ), as /iu is", () => {
    expect(/ΛΌΓΟΣ/iu.test("λόγος")).toBe(true);
    expect(compileDenyList(["ΛΌΓΟΣ"]).find("το λόγος εδώ")).toHaveLength(1);
    expect(compileDenyList(["λόγος"]).find("ΤΟ ΛΌΓΟΣ")).toHaveLength(1);
  });
});
