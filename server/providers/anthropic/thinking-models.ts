/**
 * Which Claude models take extended thinking with a budget (`thinking: {type: "enabled",
 * budget_tokens}`), the only form `request.ts` sends. The others answer it with a 400
 * `invalid_request_error`, which fails the call without a fallback: the Claude 3 and 3.5 models
 * have no thinking ("'claude-3-5-sonnet-20241022' does not support thinking."), and Claude Opus 4.7
 * and the generations after it take only adaptive thinking (`thinking: {type: "adaptive"}` with
 * `output_config.effort`): budgets are removed from Opus 4.7 on, and a `type: "enabled"` request
 * is a 400 there.
 *
 * An allow-list, as the OpenAI adapter's `reasoning-models.ts` is and for the same reason: a model
 * id it does not know answers at its default (the effort is a hint) instead of failing every call
 * that asks for an effort. Budgets were added with Claude 3.7 Sonnet and deprecated, still taken,
 * on the 4.6 models (Anthropic's extended- and adaptive-thinking guides), so the list is closed.
 */

/** The models, as "family major.minor", that take a thinking budget. */
const BUDGET_THINKING = new Set(["sonnet 3.7", "sonnet 4.0", "opus 4.0", "opus 4.1", "sonnet 4.5", "haiku 4.5", "opus 4.5", "sonnet 4.6", "opus 4.6"]);

/** `claude-3-7-sonnet-20250219`, `claude-3-5-haiku-latest`: the version before the family. */
const VERSION_FIRST = /^claude-(\d+)(?:-(\d))?-(sonnet|opus|haiku)(?:-(?:\d{8}|latest))?$/;
/** `claude-sonnet-4-20250514`, `claude-sonnet-4-0`, `claude-opus-4-1`: the family first (Claude 4 on). */
const FAMILY_FIRST = /^claude-(sonnet|opus|haiku)-(\d+)(?:-(\d))?(?:-(?:\d{8}|latest))?$/;

/** Whether the model id (an alias or a dated snapshot) names a model that takes a thinking budget. */
export function takesThinkingBudget(model: string): boolean {
  const id = model.trim().toLowerCase();
  const v = VERSION_FIRST.exec(id);
  if (v !== null) return BUDGET_THINKING.has(`${v[3]} ${v[1]}.${v[2] ?? "0"}`);
  const f = FAMILY_FIRST.exec(id);
  return f !== null && BUDGET_THINKING.has(`${f[1]} ${f[2]}.${f[3] ?? "0"}`);
}
