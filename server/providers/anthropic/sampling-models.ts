/**
 * Which of the sampling controls `request.ts` may send a Claude model: `temperature` and `top_p`
 * (the neutral request has no `top_k`). Anthropic has narrowed them twice, each time with a 400
 * `invalid_request_error` that fails the call without a fallback:
 * - from Claude Opus 4.1 through the 4.6 models (Opus 4.1, 4.5 and 4.6, Sonnet 4.5 and 4.6, Haiku
 *   4.5), the two together: "`temperature` and `top_p` cannot both be specified for this model.
 *   Please use only one." (the Claude 4.5 migration guides: use only temperature or top_p, not
 *   both; setting both returns a 400). Claude 3.x, Sonnet 4 and Opus 4 take both;
 * - from Claude Opus 4.7 on (Opus 4.7 and 4.8, Mythos Preview, the Claude 5 generation), either
 *   one at any value but its default: "`temperature` is deprecated for this model.", "`top_p` is
 *   deprecated for this model." (the Opus 4.7 and Sonnet 5 migration guides: non-default sampling
 *   parameters return a 400; the effort and the prompt replace them).
 *
 * `request.ts` leaves out what the model refuses, as it leaves out `reasoning_effort` for a model
 * without it: a temperature is a sampling hint, not a shape of the answer — the same request is
 * valid on every other target, and the model answers at its default, as it would had the caller
 * sent none — so failing the call (or skipping the target, as the penalties are) would trade an
 * answer for a setting the model no longer has. Where only the pair is refused, `temperature` is
 * kept and `top_p` dropped: Anthropic's reference recommends altering one of them and calls
 * temperature the one usually needed; it is also the only one of the two the Connect API carries
 * (`top_p` comes from the OpenAI surface, whose clients often send `top_p: 1`, a no-op).
 *
 * The pair's list is closed: no model after 4.6 takes either control. The models that take
 * neither are not a list but every Claude model from 4.7 on (previews included), unlike the
 * allow-lists of `thinking-models.ts`: there a model the list does not know yet answers without
 * thinking, here it would fail every call that carries a temperature — and Anthropic has kept the
 * rule for every model since Opus 4.7 (API version 2026-10-21 refuses the controls on every
 * model). An id that is not a Claude model's (`model-key.ts`) — another vendor's behind an
 * Anthropic-compatible URL — is sent what the caller asked.
 */
import { parseClaudeModel, type ClaudeModel } from "./model-key.js";

/** What a model takes: both controls, either one but not the pair, or neither. */
export type SamplingControls = "both" | "either" | "none";

/** The models, as "family major.minor" (`model-key.ts`), that refuse `temperature` with `top_p`. */
const EITHER_SAMPLER = new Set(["opus 4.1", "sonnet 4.5", "haiku 4.5", "opus 4.5", "sonnet 4.6", "opus 4.6"]);

/** The sampling controls the model (an alias or a dated snapshot) takes. */
export function samplingControlsOf(model: string): SamplingControls {
  const claude = parseClaudeModel(model);
  if (claude === undefined) return "both";
  if (fromOpus47On(claude)) return "none";
  return EITHER_SAMPLER.has(claude.key) ? "either" : "both";
}

/** A preview (named without a version), or a version of 4.7 or later. */
function fromOpus47On({ version }: ClaudeModel): boolean {
  return version === undefined || version.major > 4 || (version.major === 4 && version.minor >= 7);
}
