import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { builtinTemplate } from "./builtin-templates.js";
import { TemplateError, type PromptTemplateVersion } from "./prompt-template.js";
import { escapeTemplateText, renderTemplate, templateVariables } from "./render-template.js";

const version = (...templates: string[]): PromptTemplateVersion => ({
  name: "prompts/t",
  version: 3,
  messages: templates.map((template, i) => ({ role: i === 0 ? "system" : "user", template })),
});
const textOf = (v: PromptTemplateVersion, vars: Record<string, string>): string[] =>
  renderTemplate(v, vars).messages.map((m) => (m.content[0]?.type === "text" ? m.content[0].text : ""));

describe("renderTemplate", () => {
  it("fills placeholders, with or without whitespace inside the braces", () => {
    expect(textOf(version("Hi {{name}}, {{ greeting }}!{{\tx\t}}"), { name: "Ada", greeting: "welcome", x: "." })).toEqual(["Hi Ada, welcome!."]);
  });

  it("names the missing variable (all of them, in order of use) and where", () => {
    const err = (() => {
      try {
        renderTemplate(version("ok {{a}}", "{{focus}} and {{b}} and {{focus}}"), { a: "1" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TemplateError);
    const t = err as TemplateError;
    expect(t.reason).toBe("missing_variable");
    expect(t.variable).toBe("focus");
    expect(t.missing).toEqual(["focus", "b"]);
    expect(t.messageIndex).toBe(1);
    expect(t.message).toBe('prompt template "prompts/t" version 3, message 1: missing variables "focus", "b"');
  });

  it("allows unused variables", () => {
    expect(textOf(version("plain"), { unused: "x" })).toEqual(["plain"]);
  });

  it("writes {{{{ as a literal {{ and leaves single braces and }} alone", () => {
    expect(textOf(version('{{{{name}} is literal; {"a": {"b": 1}} }} {{v}}'), { v: "ok" })).toEqual(['{{name}} is literal; {"a": {"b": 1}} }} ok']);
  });

  it("reads the rest of a brace run after {{{{ pairs: one literal {, then maybe a placeholder", () => {
    expect(textOf(version("{{{v}}} {{{{{v}} {{{{{{{v}}}"), { v: "x" })).toEqual(["{x} {{{v}} {{{x}"]);
    expect(textOf(version("{{{{{ {"), {})).toEqual(["{{{ {"]);
  });

  it("rejects malformed placeholders as syntax errors", () => {
    for (const bad of ["{{", "{{ 1x }}", "{{name", "{{name}", "{{{ }}", "{{a b}}", "{{{{{{"]) {
      expect(() => renderTemplate(version(bad), { name: "n", a: "a" }), bad).toThrow(TemplateError);
    }
    try {
      templateVariables(version("fine", "x {{name"));
    } catch (e) {
      expect((e as TemplateError).reason).toBe("syntax");
      expect((e as TemplateError).messageIndex).toBe(1);
    }
  });

  it("does not treat inherited object keys as variables", () => {
    expect(() => renderTemplate(version("{{constructor}}"), {})).toThrow(/missing variable "constructor"/);
  });

  it("keeps user content containing template syntax literal", () => {
    const out = renderTemplate(version("sys", "Text: {{text}}"), { text: "ignore {{secret}} and {{{{x}}" }, { userContent: ["text"] });
    expect(out.messages[1]?.content).toEqual([{ type: "text", text: "Text: ignore {{secret}} and {{{{x}}" }]);
  });

  it("lists the messages that contain user-content variables", () => {
    const out = renderTemplate(version("about {{topic}}", "{{text}}", "{{question}} / {{topic}}", "static"), { topic: "t", text: "u", question: "q" }, { userContent: ["text", "question"] });
    expect(out.userContentMessages).toEqual([1, 2]);
    expect(out.messages.map((m) => m.role)).toEqual(["system", "user", "user", "user"]);
  });

  it("property: rendering never interprets variable values", () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
    const literal = fc.string({ unit: fc.constantFrom("{", "}", "a", " ", "x", "{{") });
    fc.assert(
      fc.property(fc.array(fc.tuple(literal, name), { maxLength: 6 }), fc.dictionary(name, fc.string()), fc.string(), (parts, given, fallback) => {
        const template = parts.map(([lit, n]) => `${escapeTemplateText(lit)}{{${n}}}`).join("");
        const values: Record<string, string> = {};
        for (const [, n] of parts) values[n] = given[n] ?? fallback;
        const expected = parts.map(([lit, n]) => lit + values[n]).join("");
        expect(textOf(version(template), values)).toEqual([expected]);
      }),
    );
  });

  it("property: escaped literal text renders as itself", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("{", "}", "a", " ", "{{") }), fc.string(), (lit, tail) => {
        const clean = tail.replaceAll("{", "");
        expect(textOf(version(escapeTemplateText(lit) + clean), {})).toEqual([lit + clean]);
      }),
    );
  });

  it("property: values full of braces and placeholders come out byte for byte", () => {
    const nasty = fc.array(fc.constantFrom("{{", "}}", "{{x}}", "{{{{", "{", "}", "a", " "), { maxLength: 20 }).map((a) => a.join(""));
    fc.assert(
      fc.property(nasty, nasty, (a, b) => {
        expect(textOf(version("[{{a}}|{{ b }}]"), { a, b, x: "NO" })).toEqual([`[${a}|${b}]`]);
      }),
    );
  });
});

describe("templateVariables", () => {
  it("lists placeholders once, in order of first use, across messages", () => {
    expect(templateVariables(version("{{b}} {{a}} {{{{c}}", "{{ a }} {{d}}"))).toEqual(["b", "a", "d"]);
  });
});

describe("built-in templates", () => {
  it("parse, keep user content alone in the user message and instructions in the system message", () => {
    const content: Record<string, string[]> = { summarize: ["text"], classify: ["text"], extract: ["text"], answer: ["question", "sources"] };
    for (const [verb, userVars] of Object.entries(content)) {
      const t = builtinTemplate(verb as "summarize");
      expect(t.builtin).toBe(true);
      const vars = Object.fromEntries(templateVariables(t).map((v) => [v, `<${v}>`]));
      const out = renderTemplate(t, vars, { userContent: userVars });
      expect(out.messages[0]?.role).toBe("system");
      expect(out.userContentMessages).toEqual([1]);
      for (const v of userVars) expect(t.messages[0]?.template).not.toContain(`{{${v}}}`);
    }
  });

  it("are frozen", () => {
    expect(Object.isFrozen(builtinTemplate("extract"))).toBe(true);
    expect(Object.isFrozen(builtinTemplate("extract").messages[0])).toBe(true);
  });
});
