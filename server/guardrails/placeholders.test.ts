import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPlaceholders, createStreamRestorer } from "./placeholders.js";

describe("placeholders: restoring into JSON", () => {
  it("JSON-escapes a restored value in a JSON answer, so the answer stays valid JSON with the value in it", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), (value) => {
        const p = createPlaceholders();
        const placeholder = p.placeholderFor("REGEX", value, true);
        const answer = JSON.stringify({ to: `${placeholder} and ${placeholder}` });
        expect(JSON.parse(p.restore(answer, { json: true }))).toEqual({ to: `${value} and ${value}` });
        const stream = createStreamRestorer(p, { json: true });
        const streamed = [...answer].map((ch) => stream.push(ch)).join("") + stream.flush();
        expect(JSON.parse(streamed)).toEqual({ to: `${value} and ${value}` });
      }),
    );
    const p = createPlaceholders();
    p.placeholderFor("REGEX", 'say "hi"\\', true);
    expect(p.restore("[REGEX_1]")).toBe('say "hi"\\');
    expect(p.restore("[REGEX_1]", { json: true })).toBe('say \\"hi\\"\\\\');
  });

  it("makes a placeholder restorable once any rule asks for it, whichever redacted it first", () => {
    const p = createPlaceholders();
    expect(p.placeholderFor("EMAIL", "a@x.io")).toBe("[EMAIL_1]");
    expect(p.restoring).toBe(false);
    expect(p.restore("[EMAIL_1]")).toBe("[EMAIL_1]");
    expect(p.placeholderFor("EMAIL", "a@x.io", true)).toBe("[EMAIL_1]");
    expect(p.placeholderFor("EMAIL", "a@x.io")).toBe("[EMAIL_1]");
    expect(p.restore("[EMAIL_1]")).toBe("a@x.io");
  });
});
