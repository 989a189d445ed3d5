import { describe, expect, it } from "vitest";
import { builtinTemplate, type TemplatedVerb } from "./builtin-templates.js";
import type { TemplateMessage } from "./prompt-template.js";
import { findSecretLiteral } from "./secret-literals.js";
import { checkVersionForVerb, VERB_VARIABLES } from "./verb-template-rules.js";

const sys = (template: string): TemplateMessage => ({ role: "system", template });
const user = (template: string): TemplateMessage => ({ role: "user", template });

describe("checkVersionForVerb", () => {
  it("accepts every built-in template for its verb (the table and the built-ins agree)", () => {
    for (const verb of ["summarize", "classify", "extract", "answer"] as TemplatedVerb[]) {
      const checked = checkVersionForVerb(verb, builtinTemplate(verb).messages);
      expect([verb, checked.issues]).toEqual([verb, []]);
      expect(new Set(checked.variables)).toEqual(new Set(VERB_VARIABLES[verb].supplied.filter((v) => checked.variables.includes(v))));
    }
  });

  it("returns the variables in order of first use", () => {
    expect(checkVersionForVerb("summarize", [sys("Write in {{language}} about {{focus}}."), user("{{text}} {{language}}")]).variables).toEqual(["language", "focus", "text"]);
  });

  it("requires the verb's material variables", () => {
    expect(checkVersionForVerb("summarize", [sys("Summarize.")]).issues).toEqual([{ path: "messages", message: "summarize templates must use {{text}}", ruleId: "prompt_version.messages.material" }]);
    expect(checkVersionForVerb("answer", [user("{{question}}")]).issues).toEqual([{ path: "messages", message: "answer templates must use {{sources}}", ruleId: "prompt_version.messages.material" }]);
  });

  it("refuses a variable the verb never supplies, naming what it does supply", () => {
    const { issues } = checkVersionForVerb("extract", [sys("{{tone}}"), user("{{text}}")]);
    expect(issues).toEqual([
      {
        path: "messages[0].template",
        message: "unknown variable {{tone}}: extract supplies {{text}}, {{instructions}}, {{output_format}}, {{schema}}",
        ruleId: "prompt_version.template.variable_supplied",
      },
    ]);
  });

  it("keeps end-user content out of system and assistant messages", () => {
    const { issues } = checkVersionForVerb("classify", [sys("Classify: {{text}}")]);
    expect(issues).toEqual([
      { path: "messages[0].template", message: "{{text}} carries end-user content and may appear only in user messages", ruleId: "prompt_version.template.user_content" },
    ]);
  });

  it("allows no placeholders in a chat template", () => {
    expect(checkVersionForVerb("chat", [sys("Be brief. Literal {{{{braces}}.")]).issues).toEqual([]);
    expect(checkVersionForVerb("chat", [sys("Hi {{name}}")]).issues[0]?.message).toBe("unknown variable {{name}}: chat templates take no variables");
  });

  it("reports a malformed placeholder at its message", () => {
    const { issues } = checkVersionForVerb("summarize", [sys("ok"), user("{{text}} {{oops")]);
    expect(issues).toEqual([{ path: "messages[1].template", message: 'placeholder "{{oops" at offset 9 is not closed with "}}"', ruleId: "prompt_version.template.syntax" }]);
  });

  it("rejects a role a template cannot have", () => {
    expect(checkVersionForVerb("chat", [{ role: "tool" as "user", template: "x" }]).issues).toEqual([
      { path: "messages[0].role", message: "must be system, user or assistant", ruleId: "prompt_version.role.defined" },
    ]);
  });

  it("refuses credentials in template text without echoing them", () => {
    const key = `sb_live_${"A".repeat(49)}`;
    const { issues } = checkVersionForVerb("chat", [sys(`Use ${key} to call back.`)]);
    expect(issues).toEqual([
      { path: "messages[0].template", message: "contains what looks like a Switchboard key; templates must never hold credentials", ruleId: "prompt_version.template.no_credentials" },
    ]);
    expect(JSON.stringify(issues)).not.toContain(key);
  });
});

describe("findSecretLiteral", () => {
  it("recognises common credential shapes and leaves prose alone", () => {
    expect(findSecretLiteral(`key: sk-proj-${"x".repeat(40)}`)).toBe("an OpenAI API key");
    expect(findSecretLiteral(`sk-ant-api03-${"y".repeat(30)}`)).toBe("an Anthropic API key");
    expect(findSecretLiteral(`AIza${"b".repeat(35)}`)).toBe("a Google API key");
    expect(findSecretLiteral("AKIAABCDEFGHIJKLMNOP")).toBe("an AWS access key id");
    expect(findSecretLiteral("-----BEGIN RSA PRIVATE KEY-----")).toBe("a private key");
    expect(findSecretLiteral("Ask the risk-taking desk; see task-list and sk-8 items.")).toBeUndefined();
  });
});
