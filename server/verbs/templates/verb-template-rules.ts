import { TemplateError, type TemplateMessage, type TemplateRole } from "./prompt-template.js";
import { templateVariables } from "./render-template.js";
import { findSecretLiteral } from "./secret-literals.js";

/** Verbs a stored prompt template can be written for (Embed renders no prompt). */
export const TEMPLATE_VERBS = ["summarize", "classify", "extract", "answer", "chat"] as const;

/** A verb that renders a prompt template. */
export type TemplateVerb = (typeof TEMPLATE_VERBS)[number];

/** The variables a verb hands its template. */
export interface VerbVariables {
  /** Every variable the verb fills; a placeholder outside this list could never render. */
  supplied: readonly string[];
  /** The variables that carry the request's material: a template must use each of them. */
  required: readonly string[];
  /** The variables whose values come from end users (the request fields marked `user_content`). */
  userContent: readonly string[];
}

/**
 * What each verb supplies to its template: the one table the verbs check their template against
 * (`checkTemplate`) and PromptService checks a stored version against before saving it. Chat
 * renders its template with no variables at all (fixed standing instructions before the caller's
 * conversation), so a chat template has no placeholders.
 */
export const VERB_VARIABLES: Readonly<Record<TemplateVerb, VerbVariables>> = Object.freeze({
  summarize: {
    supplied: ["text", "requirements", "style", "max_words", "bullet_count", "focus", "language"],
    required: ["text"],
    userContent: ["text"],
  },
  classify: { supplied: ["text", "labels", "requirements", "instructions", "output_format"], required: ["text"], userContent: ["text"] },
  extract: { supplied: ["text", "instructions", "output_format", "schema"], required: ["text"], userContent: ["text"] },
  answer: {
    supplied: ["question", "sources", "instructions", "output_format"],
    required: ["question", "sources"],
    userContent: ["question", "sources"],
  },
  chat: { supplied: [], required: [], userContent: [] },
});

/** Whether `verb` is one a stored template can be written for. */
export function isTemplateVerb(verb: string): verb is TemplateVerb {
  return (TEMPLATE_VERBS as readonly string[]).includes(verb);
}

/** One problem with a template version, at a path relative to the version (`messages[1].template`), and the rule it breaks. */
export interface TemplateIssue {
  path: string;
  message: string;
  ruleId: string;
}

const ROLES: readonly TemplateRole[] = ["system", "user", "assistant"];

/**
 * Checks a template version written for `verb` before it is stored, and returns the variables
 * it uses (in order of first use) with every problem found:
 * - each message parses (`{{name}}` placeholders; `{{{{` for a literal `{{`);
 * - it uses every variable that carries the verb's material (`{{text}}`, or `{{question}}` and
 *   `{{sources}}`), and no variable the verb never supplies (it could never render);
 * - end-user variables appear only in `user` messages: instructions stay apart from the material
 *   they govern (OWASP LLM01, "segregate external content"), as in the built-in templates;
 * - no text looks like a credential (templates reach every provider and every log of prompts).
 */
export function checkVersionForVerb(verb: TemplateVerb, messages: readonly TemplateMessage[]): { variables: string[]; issues: TemplateIssue[] } {
  const rules = VERB_VARIABLES[verb];
  const issues: TemplateIssue[] = [];
  const used: string[] = [];
  let unparsed = false;
  messages.forEach((message, i) => {
    const path = `messages[${i}]`;
    if (!ROLES.includes(message.role)) issues.push({ path: `${path}.role`, message: "must be system, user or assistant", ruleId: "prompt_version.role.defined" });
    const secret = findSecretLiteral(message.template);
    if (secret !== undefined) issues.push({
        path: `${path}.template`,
        message: `contains what looks like ${secret}; templates must never hold credentials`,
        ruleId: "prompt_version.template.no_credentials",
      });
    let names: string[];
    try {
      names = templateVariables({ name: "", version: 0, messages: [message] });
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      issues.push({ path: `${path}.template`, message: err.message.replace(/^.*?message 0: /, ""), ruleId: "prompt_version.template.syntax" });
      unparsed = true;
      return;
    }
    for (const name of names) {
      if (!used.includes(name)) used.push(name);
      if (!rules.supplied.includes(name)) {
        const supplied = rules.supplied.length === 0 ? `${verb} templates take no variables` : `${verb} supplies ${rules.supplied.map((v) => `{{${v}}}`).join(", ")}`;
        issues.push({ path: `${path}.template`, message: `unknown variable {{${name}}}: ${supplied}`, ruleId: "prompt_version.template.variable_supplied" });
      } else if (rules.userContent.includes(name) && message.role !== "user") {
        issues.push({
          path: `${path}.template`,
          message: `{{${name}}} carries end-user content and may appear only in user messages`,
          ruleId: "prompt_version.template.user_content",
        });
      }
    }
  });
  for (const name of rules.required) {
    // A message that does not parse may hold the variable; its syntax error is the one to fix.
    if (!unparsed && !used.includes(name)) issues.push({ path: "messages", message: `${verb} templates must use {{${name}}}`, ruleId: "prompt_version.messages.material" });
  }
  return { variables: used, issues };
}
