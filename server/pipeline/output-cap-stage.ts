import type { ModelCall, ModelPipeline, Stage } from "./model-call.js";

/** Options of {@link createOutputCapStage}. */
export interface OutputCapStageOptions {
  /** Largest max output tokens a call may ask for; larger asks are clamped to it (0 or unset: no clamp). */
  maxOutputTokens?: number;
}

/**
 * Clamps a chat call's `maxOutputTokens` to the gateway's maximum (RELIABILITY P23, OWASP LLM10
 * "unbounded consumption"), before rate limits count it and budgets reserve for it, so neither a
 * caller's typo nor an attack can ask a provider for a million tokens. The call gets a copy of
 * its request with the clamped value; a call that asks for less, or for nothing (the route's
 * default applies), is passed on untouched. There is no per-key field, so the maximum is the
 * deployment's (`budgets.maxOutputTokens`).
 */
export function createOutputCapStage(opts: OutputCapStageOptions = {}): Stage {
  const max = opts.maxOutputTokens ?? 0;
  const clamp = (call: ModelCall): ModelCall => {
    const asked = call.request.maxOutputTokens;
    if (max <= 0 || asked === undefined || asked <= max) return call;
    return { ...call, request: { ...call.request, maxOutputTokens: max } };
  };
  return (next: ModelPipeline): ModelPipeline => ({
    chat: (call) => next.chat(clamp(call)),
    chatStream: (call) => next.chatStream(clamp(call)),
    embed: (call) => next.embed(call),
  });
}
