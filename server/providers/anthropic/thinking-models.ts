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

/** How `request.ts` asks the model to think. */
export type ThinkingForm = "budget" | "adaptive";

/** The models, as "family major.minor", that take a thinking budget. */
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

/** `claude-3-7-sonnet-20250219`, `claude-3-5-haiku-latest`: the version before the family. */
const VERSION_FIRST = /^claude-(\d+)(?:-(\d))?-(sonnet|opus|haiku)(?:-(?:\d{8}|latest))?$/;
/** `claude-sonnet-4-20250514`, `claude-sonnet-4-0`, `claude-opus-4-7`, `claude-fable-5-1`: the family first (Claude 4 on). */
const FAMILY_FIRST = /^claude-(sonnet|opus|haiku|fable|mythos)-(\d+)(?:-(\d))?(?:-(?:\d{8}|latest))?$/;
/** `claude-mythos-preview`: a preview named without a version. */
const PREVIEW = /^claude-(mythos)-preview(?:-\d{8})?$/;

/** The form of thinking to ask the model (an alias or a dated snapshot) for, or none. */
export function thinkingFormOf(model: string): ThinkingForm | undefined {
  const key = modelKey(model.trim().toLowerCase());
  if (key === undefined) return undefined;
  if (BUDGET_THINKING.has(key)) return "budget";
  if (ADAPTIVE_THINKING.has(key)) return "adaptive";
  return undefined;
}

/** "family major.minor" ("sonnet 4.5"), or "family preview". */
function modelKey(id: string): string | undefined {
  const v = VERSION_FIRST.exec(id);
  if (v !== null) return `${v[3]} ${v[1]}.${v[2] ?? "0"}`;
  const f = FAMILY_FIRST.exec(id);
  if (f !== null) return `${f[1]} ${f[2]}.${f[3] ?? "0"}`;
  const p = PREVIEW.exec(id);
  return p === null ? undefined : `${p[1]} preview`;
}
