/**
 * Prompt templates as data. A template version is an ordered list of messages whose text holds
 * `{{name}}` placeholders; verbs fill them with request values. Stored versions (PromptService)
 * and the built-in defaults share this one shape, so a verb never knows where its template came
 * from.
 */

/** Who speaks a template message (tool turns need call ids and never come from templates). */
export type TemplateRole = "system" | "user" | "assistant";

/** One message of a template version. */
export interface TemplateMessage {
  role: TemplateRole;
  /** The text, with `{{variable}}` placeholders (see `renderTemplate` for the syntax). */
  template: string;
}

/** One immutable version of a prompt template. */
export interface PromptTemplateVersion {
  /** Resource name (`prompts/{prompt}`, `orgs/{org}/prompts/{prompt}`) or `builtin/{verb}`. */
  name: string;
  /** Version number, from 1. */
  version: number;
  /** The messages, in order. */
  messages: readonly TemplateMessage[];
  /** True for the gateway's built-in default (reported to callers as an empty template name). */
  builtin?: boolean;
}

/** Why a template could not be rendered. */
export type TemplateErrorReason =
  /** A placeholder names a variable the caller did not supply. */
  | "missing_variable"
  /** A `{{` that is neither a placeholder nor the `{{{{` escape. */
  | "syntax"
  /** The rendered prompt would be longer than `MAX_RENDERED_CHARS`. */
  | "too_long";

/** Where in a template a problem is. */
export interface TemplateErrorInit {
  reason: TemplateErrorReason;
  /** The template, when known (name and version). */
  template?: { name: string; version: number };
  /** 0-based index of the template message. */
  messageIndex: number;
  /** Character offset of the offending `{{` within the message's template text. */
  offset: number;
  /** Missing variables, in order of first use (reason `missing_variable`). */
  missing?: readonly string[];
}

/**
 * A template that cannot be rendered. Its message is written for callers (it names the template,
 * the message and the variable) and becomes INVALID_ARGUMENT at the RPC boundary.
 */
export class TemplateError extends Error {
  override readonly name = "TemplateError";
  readonly reason: TemplateErrorReason;
  readonly template?: { name: string; version: number };
  readonly messageIndex: number;
  readonly offset: number;
  /** Every missing variable, in order of first use (empty for syntax errors). */
  readonly missing: readonly string[];

  constructor(problem: string, init: TemplateErrorInit) {
    const where = init.template === undefined ? "prompt template" : `prompt template "${init.template.name}" version ${init.template.version}`;
    super(`${where}, message ${init.messageIndex}: ${problem}`);
    this.reason = init.reason;
    this.template = init.template;
    this.messageIndex = init.messageIndex;
    this.offset = init.offset;
    this.missing = init.missing ?? [];
  }

  /** The first missing variable (reason `missing_variable`). */
  get variable(): string | undefined {
    return this.missing[0];
  }
}
