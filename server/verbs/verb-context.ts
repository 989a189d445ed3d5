import type { RateStanding } from "../limits/rate-standing.js";
import type { CacheModeName, CallerRef, CallMeta, VerbName } from "../pipeline/model-call.js";
import type { ModelMessage, ModelRequest, PromptCachingMode, ReasoningEffort } from "../providers/model.js";
import type { PromptTemplateVersion } from "./templates/prompt-template.js";

/** What the route's targets can do, as far as a verb's prompt depends on it. */
export interface VerbCapabilities {
  /** Every target of the route enforces a JSON Schema natively (`responseFormat` json_schema). */
  jsonSchema: boolean;
  /**
   * The smallest context window among the route's targets, in tokens. Summarize splits inputs
   * that do not fit. Absent: the verb's configured default.
   */
  contextTokens?: number;
}

/**
 * Everything a verb needs that it does not decide: the `CallMeta` fields shared by every model
 * call of the RPC, the prompt template the caller resolved (a stored version, or absent for the
 * verb's built-in), and what the route's targets support. Built once per RPC by the service.
 */
export interface VerbContext {
  route: string;
  requestId: string;
  signal: AbortSignal;
  /** Epoch ms by which every model call of the RPC must be done. */
  deadline: number;
  tags: Readonly<Record<string, string>>;
  cache: { mode: CacheModeName; maxAgeMs?: number };
  /** The template to render; absent means the verb's built-in (Chat: no template). */
  template?: PromptTemplateVersion;
  capabilities: VerbCapabilities;
  /** The calling key's tenancy, passed to every model call (budgets, limits, usage). */
  caller?: CallerRef;
  /** Per-call generation controls from the request's options. */
  generation?: Generation;
  /** Passed to every model call's meta, for the rate-limit stages to fill (see `CallMeta.rateStanding`). */
  rateStanding?: RateStanding;
  /** The calling key's `allowed_models`, when it has any (see `CallMeta.allowedModels`). */
  allowedModels?: readonly string[];
}

/** Per-call generation controls from the request's options (Connect `RequestOptions`, or the OpenAI body). */
export interface Generation {
  maxOutputTokens?: number;
  temperature?: number;
  reasoningEffort?: ReasoningEffort;
  /** `options.prompt_caching` AUTO: the gateway places prompt-cache breakpoints on every call (see `PromptCachingMode`). */
  promptCaching?: PromptCachingMode;
}

/** The `CallMeta` of one model call a verb makes. */
export function callMetaFor(
  ctx: VerbContext,
  verb: VerbName,
  template: PromptTemplateVersion | undefined,
  userContentMessages: readonly number[] | undefined,
): CallMeta {
  return {
    verb,
    route: ctx.route,
    requestId: ctx.requestId,
    signal: ctx.signal,
    deadline: ctx.deadline,
    tags: ctx.tags,
    cache: ctx.cache,
    ...(ctx.caller === undefined ? {} : { caller: ctx.caller }),
    ...(template === undefined ? {} : { template: { name: template.name, version: template.version } }),
    ...(userContentMessages === undefined ? {} : { userContentMessages: [...userContentMessages] }),
    ...(ctx.rateStanding === undefined ? {} : { rateStanding: ctx.rateStanding }),
    ...(ctx.allowedModels === undefined ? {} : { allowedModels: ctx.allowedModels }),
  };
}

/**
 * A neutral request for `messages` with the request's generation controls; `maxOutputTokens`
 * caps the caller's limit further (Summarize sizes its calls). `model` is left empty: each route
 * target supplies its own.
 */
export function verbRequest(
  ctx: VerbContext,
  messages: ModelMessage[],
  extra: Omit<Partial<ModelRequest>, "model" | "messages"> = {},
): ModelRequest {
  const callerMax = ctx.generation?.maxOutputTokens;
  const max = extra.maxOutputTokens === undefined ? callerMax : Math.min(extra.maxOutputTokens, callerMax ?? Infinity);
  const temperature = ctx.generation?.temperature;
  const reasoningEffort = ctx.generation?.reasoningEffort;
  const promptCaching = ctx.generation?.promptCaching;
  return {
    ...extra,
    model: "",
    messages,
    ...(max === undefined ? {} : { maxOutputTokens: max }),
    ...(temperature === undefined || extra.temperature !== undefined ? {} : { temperature }),
    ...(reasoningEffort === undefined || extra.reasoningEffort !== undefined ? {} : { reasoningEffort }),
    ...(promptCaching === undefined ? {} : { promptCaching }),
  };
}
