/**
 * P25: variable values are inserted literally *and length-bounded*. A version that passes every
 * check a stored template gets (one user message of 262,144 bytes, the proto's limit, holding
 * `{{text}}` 32,768 times) multiplies a Summarize `text` 32,768-fold: a 15 KiB text — a thousandth
 * of the field's 16 MiB limit — renders to a 480 MiB prompt, and a 16 KiB one overflows V8's
 * string limit with a RangeError that the RPC boundary answers as Internal "internal error"
 * instead of INVALID_ARGUMENT naming the template.
 */
import { describe, expect, it } from "vitest";
import { TemplateError, type PromptTemplateVersion } from "./prompt-template.js";
import { renderTemplate } from "./render-template.js";
import { checkVersionForVerb } from "./verb-template-rules.js";

const amplifier: PromptTemplateVersion = {
  name: "orgs/acme/prompts/amplifier",
  version: 1,
  messages: [{ role: "user", template: "{{text}}".repeat(32_768) }],
};

describe("renderTemplate: length bound", () => {
  it("the amplifying version is one a stored template may hold", () => {
    expect(Buffer.byteLength(amplifier.messages[0]!.template)).toBe(262_144);
    expect(checkVersionForVerb("summarize", amplifier.messages).issues).toEqual([]);
  });

  it("does not render a prompt thousands of times longer than its template and variables", () => {
    const text = "x".repeat(15 * 1024);
    let length: number | undefined;
    try {
      const rendered = renderTemplate(amplifier, { text }, { userContent: ["text"] });
      // `.length` of the rope V8 built: reading it does not flatten the 480 MiB string.
      length = rendered.messages.reduce((n, m) => n + (m.content[0]?.type === "text" ? m.content[0].text.length : 0), 0);
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateError);
    }
    if (length !== undefined) expect(length).toBeLessThan(64 * 1024 * 1024);
  });

  it("a prompt past the bound is a TemplateError (INVALID_ARGUMENT), never a RangeError (Internal)", () => {
    const text = "x".repeat(16 * 1024);
    let thrown: unknown;
    try {
      renderTemplate(amplifier, { text }, { userContent: ["text"] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TemplateError);
  });
});
