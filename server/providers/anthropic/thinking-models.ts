/**
 * Which form of thinking `request.ts` asks a Claude model for, if any. There are two, and each
 * model takes one, both or neither; a form the model does not take is a 400
 * `invalid_request_error`, which fails the call without a fallback:
 * - a budget, `thinking: {type: "enabled", budget_tokens}`: added with Claude 3.7 Sonnet, taken to
 *   the 4.6 models (deprecated, still taken, there), and removed from Claude Opus 4.7 on
 *   ("\"thinking.type.enabled\" is not supported for this model"); the Claude 3 and 3.5 models have
 *   no thinking at all ("'claude-3-5-sonnet-20241022' does not support thinking.");
 * - adaptive, `thinking: {type: "adaptive"}` with the depth as `output_config.effort`: added with
 *   the 4.6 models and the only form from Opus 4.7 on; the models before 4.6 refuse it ("adaptive
 *   thinking is not supported on this model"). No beta header is needed.
 *
 * The 4.6 models take both and are asked for a budget: the only form that bounds the thinking (to
 * half of `max_tokens`, keeping the other half for the answer), so their answers keep the room
 * they had. Adaptive thinking goes only to the models that refuse a budget. Haiku 4.5, like every
 * model before 4.6, refuses adaptive thinking.
 *
 * Allow-lists, as the OpenAI adapter's `reasoning-models.ts` is and for the same reason: a model id
 * they do not know answers at its default (the effort is a hint) instead of failing every call
 * that asks for an effort. The budget list is closed (no model after 4.6 takes one); the adaptive
 * list holds the models Anthropic's adaptive-thinking guide and the SDK's model list (1.14) name —
 * Opus 4.7 and 4.8, Mythos Preview, and the Claude 5 generation — and grows with each release.
 */
import { parseClaudeModel } from "./model-key.js";

/** How `request.ts` asks the model to think. */
export type ThinkingForm = "budget" | "adaptive";

/** The models, as "family major.minor" (`model-key.ts`), that take a thinking budget. */
const BUDGET_THINKING = new Set(["sonnet 3.7", "sonnet 4.0", "opus 4.0", "opus 4.1", "sonnet 4.5", "haiku 4.5", "opus 4.5", "sonnet 4.6", "opus 4.6"]);
/** The models that refuse a budget and take only adaptive thinking. */
const ADAPTIVE_THINKING = new Set([
  "opus 4.7",
  "opus 4.8",
  "mythos preview",
  "opus 5.0",
  "sonnet 5.0",
  "fable 5.0",
  "mythos 5.0",
  "fable 5.1",
  "mythos 5.1",
  "fable 5.2",
  "mythos 5.2",
  "opus 5.5",
  "sonnet 5.5",
  "haiku 5.5",
]);

/** The form of thinking to ask the model (an alias or a dated snapshot) for, or none. */
export function thinkingFormOf(model: string): ThinkingForm | undefined {
  const key = parseClaudeModel(model)?.key;
  if (key === undefined) return undefined;
  if (BUDGET_THINKING.has(key)) return "budget";
  if (ADAPTIVE_THINKING.has(key)) return "adaptive";
  return undefined;
}
