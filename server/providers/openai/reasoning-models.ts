/**
 * Which OpenAI models take `reasoning_effort`, and at which level: the gate of the OpenAI adapter
 * (OpenAI's own service and Azure OpenAI, which serve the same models under the same ids). Models
 * that do not reason refuse the field with a 400 — "Unrecognized request argument supplied:
 * reasoning_effort" (gpt-4o, gpt-4.1, gpt-3.5-turbo, chatgpt-4o-latest), `unsupported_parameter`
 * (o1-mini, o1-preview) — and a 400 is a bad request, which fails the call without a fallback.
 *
 * An allow-list of the reasoning families, not a deny-list of the others. The two fail
 * differently on a model id they do not know: an allow-list leaves the effort out and the model
 * answers at its default (the effort is a hint, never a shape of the answer — README, "Calling the
 * verbs"), while a deny-list sends it and every call that asks for an effort fails until the list
 * catches up. OpenAI ships non-reasoning models too (audio, search, `-chat` variants), so a new id
 * is not safely a reasoning one; and the families are matched by pattern, so a new o-series model
 * or GPT-5 point release needs no change here. The gate reads the target's model id: an Azure
 * target that names its deployment in `params.deployment` gates on the model it serves, one whose
 * model id is the deployment's name gets no effort unless that name is a model id below.
 */
import type { ReasoningEffort } from "../model.js";
import type { ModelChatLimits } from "../provider.js";

/**
 * The reasoning models that take `reasoning_effort` on Chat Completions:
 * - the o-series (o1, o3, o3-mini, o4-mini, …) but o1-mini and o1-preview, which reason but refuse
 *   the control (only o1 and o3-mini took it at first; API reference, `reasoning_effort`);
 * - GPT-5 and its point releases (gpt-5, -mini, -nano, gpt-5.1, gpt-5.2, …) but the `-chat`
 *   variants (gpt-5-chat-latest, gpt-5.1-chat-latest), which are ChatGPT's non-reasoning models.
 */
function takesReasoningEffort(model: string): boolean {
  return isReasoningModel(model) && !/^o1-(mini|preview)(-|$)/.test(model);
}

/** The reasoning models: the o-series, GPT-5 and its point releases but the `-chat` variants. */
function isReasoningModel(model: string): boolean {
  if (/^o\d+(-|$)/.test(model)) return true;
  return /^gpt-5(\.\d+)?(-|$)/.test(model) && !/(^|-)chat(-|$)/.test(model);
}

/**
 * Whether `model` takes a `temperature` or `top_p` of `value`. OpenAI's reasoning models take
 * only the default, 1 ("Unsupported value: 'temperature' does not support 0.2 with this model.
 * Only the default (1) value is supported.", or `unsupported_parameter` on some), a 400 that would
 * fail the call; the adapter leaves any other value out for them — a sampling hint the model
 * answers without, at its default, as the Anthropic adapter does for the Claude models that
 * refuse it — and sends it as asked to every other model.
 */
export function openAITakesSampling(model: string, value: number): boolean {
  return value === 1 || !isOpenAIReasoningModel(model);
}

/** Whether `model` (a fine-tune as its base) is one of OpenAI's reasoning models. */
export function isOpenAIReasoningModel(model: string): boolean {
  return isReasoningModel(baseModelOf(model));
}

/**
 * What OpenAI's reasoning models take of the chat bounds: no `stop` ("Unsupported parameter:
 * 'stop' is not supported with this model.") and none of `frequency_penalty`, `presence_penalty`
 * and `logit_bias` — each a 400. Dispatch skips such a target for a request that sets one
 * (`ProviderLimits.forModel`), as it skips an adapter without them: a stop sequence or a penalty
 * changes the answer, so it is never silently dropped. Other models: the adapter's bounds.
 */
const REASONING_CHAT_LIMITS: Readonly<ModelChatLimits> = Object.freeze({ maxStopSequences: 0, samplingPenalties: Object.freeze([]) });

export function openAIModelChatLimits(model: string): Readonly<ModelChatLimits> | undefined {
  return isOpenAIReasoningModel(model) ? REASONING_CHAT_LIMITS : undefined;
}

/**
 * Where `minimal` is taken: GPT-5 itself (gpt-5, -mini, -nano and their snapshots), which
 * introduced it. The o-series take low, medium and high; GPT-5.1 and later none, low, medium and
 * high; both answer `minimal` with a 400 `unsupported_value`.
 */
const TAKES_MINIMAL = /^gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$/;

/**
 * The `reasoning_effort` to send for `model`, or undefined to leave it out. `minimal` becomes
 * `low` where the model has no `minimal`: the least level that still reasons (GPT-5.1's `none`
 * would turn reasoning off, which the caller did not ask for). A fine-tune (`ft:<base>:…`) is
 * gated as its base model.
 */
export function openAIReasoningEffort(model: string, effort: ReasoningEffort): ReasoningEffort | undefined {
  const id = baseModelOf(model);
  if (!takesReasoningEffort(id)) return undefined;
  return effort === "minimal" && !TAKES_MINIMAL.test(id) ? "low" : effort;
}

/** The lower-cased model id, a fine-tune's (`ft:o4-mini-2025-04-16:org::id`) as its base model. */
function baseModelOf(model: string): string {
  const id = model.trim().toLowerCase();
  return id.startsWith("ft:") ? (id.split(":")[1] ?? "") : id;
}
