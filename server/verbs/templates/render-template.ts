import type { ModelMessage } from "../../providers/model.js";
import { TemplateError, type PromptTemplateVersion } from "./prompt-template.js";

/*
 * Template syntax, the whole of it:
 * - `{{name}}` is a placeholder; whitespace inside the braces is allowed (`{{ name }}`). Names are
 *   ASCII letters, digits and `_`, not starting with a digit.
 * - Literal braces: in a run of `{`, each `{{{{` (left to right) writes `{{`; of what remains, a
 *   single `{` is literal, `{{` opens a placeholder, and `{{{` is a literal `{` followed by a
 *   placeholder (so `{{{name}}}` renders `{value}`). Any literal text is therefore written by
 *   replacing each `{{` with `{{{{` (`escapeTemplateText`). A single `{`, any `}` and `}}` are
 *   plain text, so JSON examples need no escaping unless they contain `{{`.
 * - Any other `{{` (an unterminated or malformed placeholder) is a syntax error, so a typo never
 *   reaches a model silently.
 * Rendering is one pass over the template: a variable's value is copied into the output as it
 * is and never scanned again, so user content that contains `{{x}}` stays literal.
 */

type Segment = { literal: string } | { variable: string; offset: number };

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const SPACE = /[ \t\r\n]*/y;

function skipSpace(text: string, from: number): number {
  SPACE.lastIndex = from;
  SPACE.exec(text);
  return SPACE.lastIndex;
}

function parseMessage(text: string, messageIndex: number, version: PromptTemplateVersion): Segment[] {
  const template = { name: version.name, version: version.version };
  const segments: Segment[] = [];
  let literal = "";
  let i = 0;
  for (;;) {
    const open = text.indexOf("{{", i);
    if (open < 0) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, open);
    let run = 2;
    while (text[open + run] === "{") run++;
    const rest = run % 4;
    literal += "{{".repeat((run - rest) / 4) + (rest % 2 === 1 ? "{" : "");
    if (rest < 2) {
      i = open + run;
      continue;
    }
    const at = open + run - 2;
    const start = skipSpace(text, at + 2);
    NAME.lastIndex = start;
    const name = NAME.exec(text)?.[0];
    if (name === undefined) {
      throw new TemplateError(`"{{" at offset ${at} must start a placeholder such as {{name}} (write {{{{ for a literal "{{")`, {
        reason: "syntax",
        template,
        messageIndex,
        offset: at,
      });
    }
    const close = skipSpace(text, start + name.length);
    if (!text.startsWith("}}", close)) {
      throw new TemplateError(`placeholder "{{${name}" at offset ${at} is not closed with "}}"`, {
        reason: "syntax",
        template,
        messageIndex,
        offset: at,
      });
    }
    if (literal !== "") segments.push({ literal });
    literal = "";
    segments.push({ variable: name, offset: at });
    i = close + 2;
  }
  if (literal !== "") segments.push({ literal });
  return segments;
}

function parseVersion(version: PromptTemplateVersion): Segment[][] {
  return version.messages.map((m, i) => parseMessage(m.template, i, version));
}

/** Template text that renders as exactly `text` (every `{{` doubled to `{{{{`). */
export function escapeTemplateText(text: string): string {
  return text.replaceAll("{{", "{{{{");
}

/**
 * The variables a template version uses, unique, in order of first appearance. Throws
 * `TemplateError` (reason `syntax`) for a malformed placeholder, so it doubles as the check a
 * store runs before saving a version.
 */
export function templateVariables(version: PromptTemplateVersion): string[] {
  const seen = new Set<string>();
  for (const segments of parseVersion(version)) {
    for (const s of segments) if ("variable" in s) seen.add(s.variable);
  }
  return [...seen];
}

/**
 * The most characters a rendered prompt may hold, all messages together (P25: values are inserted
 * literally and length-bounded): four times the largest verb input (16 MiB), so a template that
 * uses its material once always fits and one that repeats it thousands of times does not.
 */
export const MAX_RENDERED_CHARS = 64 * 1024 * 1024;

/** Options of {@link renderTemplate}. */
export interface RenderOptions {
  /**
   * Variables whose values come from end users (the request fields marked `user_content`). A
   * message that uses any of them is listed in `userContentMessages`.
   */
  userContent?: Iterable<string>;
}

/** A rendered template: the messages to send and which of them carry user content. */
export interface RenderedPrompt {
  messages: ModelMessage[];
  /** Indexes of `messages` that contain a user-content variable (for `CallMeta.userContentMessages`). */
  userContentMessages: number[];
}

/**
 * Renders a template version with `variables`, strictly: a placeholder without a variable throws
 * `TemplateError` (reason `missing_variable`) naming every missing one, a prompt longer than
 * {@link MAX_RENDERED_CHARS} one of reason `too_long`; variables the template does not use are
 * allowed. Values are inserted verbatim in a single pass and never interpreted
 * as template syntax.
 */
export function renderTemplate(
  version: PromptTemplateVersion,
  variables: Readonly<Record<string, string>>,
  options: RenderOptions = {},
): RenderedPrompt {
  const parsed = parseVersion(version);
  const userContent = new Set(options.userContent ?? []);
  const missing: string[] = [];
  let firstMissing: { messageIndex: number; offset: number } | undefined;
  parsed.forEach((segments, messageIndex) => {
    for (const s of segments) {
      if ("variable" in s && !Object.hasOwn(variables, s.variable) && !missing.includes(s.variable)) {
        missing.push(s.variable);
        firstMissing ??= { messageIndex, offset: s.offset };
      }
    }
  });
  if (firstMissing !== undefined) {
    const names = missing.map((n) => `"${n}"`).join(", ");
    throw new TemplateError(`missing variable${missing.length > 1 ? "s" : ""} ${names}`, {
      reason: "missing_variable",
      template: { name: version.name, version: version.version },
      ...firstMissing,
      missing,
    });
  }
  const messages: ModelMessage[] = [];
  const userContentMessages: number[] = [];
  let total = 0;
  parsed.forEach((segments, i) => {
    let text = "";
    let fromUser = false;
    for (const s of segments) {
      if ("literal" in s) {
        text += s.literal;
        total += s.literal.length;
      } else {
        const value = variables[s.variable] ?? "";
        // Checked before the value is appended: a template that repeats a placeholder must not
        // multiply a large value into a prompt no model takes (or past V8's string limit).
        total += value.length;
        if (total > MAX_RENDERED_CHARS) {
          throw new TemplateError(`the rendered prompt would exceed ${MAX_RENDERED_CHARS} characters (placeholder {{${s.variable}}})`, {
            reason: "too_long",
            template: { name: version.name, version: version.version },
            messageIndex: i,
            offset: s.offset,
          });
        }
        text += value;
        if (userContent.has(s.variable)) fromUser = true;
      }
    }
    const role = version.messages[i]?.role ?? "system";
    messages.push({ role, content: [{ type: "text", text }] });
    if (fromUser) userContentMessages.push(i);
  });
  return { messages, userContentMessages };
}
