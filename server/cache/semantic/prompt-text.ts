import { createHash } from "node:crypto";
import type { ModelRequest } from "../../providers/model.js";
import { canonicalJson } from "../canonical-json.js";
import { withoutPromptCacheMarks } from "../prompt-cache-marks.js";

/** What the semantic cache compares: the user's text (fuzzily) and everything else (exactly). */
export interface SemanticProbe {
  /** The user text, normalized: lowercase, whitespace collapsed (what gets embedded). */
  text: string;
  /**
   * SHA-256 over everything that is not user text — instructions, roles, tools, response format,
   * generation controls, template, targets — plus the `context` the caller adds. Two requests are
   * semantic candidates only when these are equal, so a Classify with other labels or a Chat with
   * another system prompt never shares an answer.
   */
  context: string;
}

/** Lowercase, Unicode-compatibility folded, whitespace collapsed and trimmed. */
export function normalizePrompt(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim();
}

/**
 * Splits a request into its semantic probe: the text parts of the messages flagged as user content
 * (`CallMeta.userContentMessages`) are the text; the rest of the request — every other message
 * whole, the flagged messages' roles and non-text parts, and every generation control — goes into
 * the exact `context` hash with `extra` (tenant, route targets, template). Undefined when the call
 * has no user text (nothing to compare fuzzily; the exact cache still applies). Prompt-cache
 * breakpoints are left out, as from the exact key (`withoutPromptCacheMarks`).
 */
export function semanticProbeOf(marked: ModelRequest, userContentMessages: readonly number[] | undefined, extra: unknown): SemanticProbe | undefined {
  if (userContentMessages === undefined || userContentMessages.length === 0) return undefined;
  const request = withoutPromptCacheMarks(marked);
  const flagged = new Set(userContentMessages);
  const texts: string[] = [];
  const skeleton = request.messages.map((m, i) => {
    // Only what the end user says is compared fuzzily: a flagged system or assistant message (Chat
    // flags every message, for the guardrails) is instructions or history, matched exactly.
    if (!flagged.has(i) || m.role !== "user") return m;
    return {
      ...m,
      content: m.content.map((part) => {
        if (part.type !== "text") return part;
        texts.push(part.text);
        return { type: "text", text: "" };
      }),
    };
  });
  const text = normalizePrompt(texts.join("\n"));
  if (text === "") return undefined;
  const { model: _model, messages: _messages, ...controls } = request;
  const context = createHash("sha256")
    .update(canonicalJson({ messages: skeleton, controls, extra }))
    .digest("hex");
  return { text, context };
}
