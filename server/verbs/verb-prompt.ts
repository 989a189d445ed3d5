import { builtinTemplate, type TemplatedVerb } from "./templates/builtin-templates.js";
import type { PromptTemplateVersion } from "./templates/prompt-template.js";
import { renderTemplate, templateVariables, type RenderedPrompt } from "./templates/render-template.js";
import type { VerbContext } from "./verb-context.js";
import { invalidArgument, withTemplateErrors } from "./verb-errors.js";

/** A verb's prompt, rendered, with the template version it came from. */
export interface VerbPrompt extends RenderedPrompt {
  template: PromptTemplateVersion;
}

/** The template a verb renders: the caller's resolved one, else the verb's built-in. */
export function templateFor(ctx: VerbContext, verb: TemplatedVerb): PromptTemplateVersion {
  return ctx.template ?? builtinTemplate(verb);
}

/**
 * Checks, before any model call, that a template uses the variables that carry the request's
 * material (a Summarize template without `{{text}}` would summarize nothing). A template error
 * or a missing placeholder is INVALID_ARGUMENT naming the template and the variable.
 */
export function checkTemplate(template: PromptTemplateVersion, required: readonly string[]): void {
  const used = new Set(withTemplateErrors(() => templateVariables(template)));
  for (const name of required) {
    if (!used.has(name)) {
      throw invalidArgument(`prompt template "${template.name}" version ${template.version} does not use the required variable {{${name}}}`);
    }
  }
}

/**
 * Renders `template` for a verb call. `userContent` names the variables whose values came from
 * end users; the messages using them are reported for `CallMeta.userContentMessages`.
 */
export function renderVerbPrompt(
  template: PromptTemplateVersion,
  variables: Readonly<Record<string, string>>,
  userContent: readonly string[],
): VerbPrompt {
  const rendered = withTemplateErrors(() => renderTemplate(template, variables, { userContent }));
  return { ...rendered, template };
}
