import { sameCall, type AttemptRecord } from "../dispatch/attempt-record.js";
import type { CacheStatusName, EmbedCallResult, ModelCallResult } from "../pipeline/model-call.js";
import { emptyUsage, type TokenUsage } from "../providers/model.js";
import type { PromptTemplateVersion } from "./templates/prompt-template.js";

/** What one model call contributed to a verb's usage. */
export interface CallUsage {
  /** Tokens of the answer the call returned (the winning attempt, or the cache hit's). */
  usage: TokenUsage;
  provider: string;
  model: string;
  /** Every attempt of the call, failed ones included. */
  attempts: readonly AttemptRecord[];
  /** Cost of every attempt of the call. */
  costMicrosUsd: bigint;
  cacheStatus: CacheStatusName;
}

/**
 * What a verb consumed, summed over every model call it made (map-reduce chunks, repairs). The
 * service maps it to the proto `Usage`, adding the route and request id.
 */
export interface VerbUsage {
  /** Sum of every call's tokens; `estimated` if any call's were. */
  tokens: TokenUsage;
  /** Sum of every call's cost, in micro-USD. */
  costMicrosUsd: bigint;
  /** Provider and model of the last call (the one that produced the final answer). */
  provider: string;
  model: string;
  /** Every attempt of every call, in call order, renumbered 1.. across the verb. */
  attempts: AttemptRecord[];
  /** How many times dispatch moved to another target, over all calls. */
  fallbacks: number;
  /** The calls' cache status when they agree; otherwise `miss` (some answer came from a provider). */
  cacheStatus: CacheStatusName;
  modelCalls: number;
  /** The template version the verb rendered, if any. */
  template?: { name: string; version: number; builtin: boolean };
}

/** The usage of a completed chat call. */
export function chatCallUsage(r: ModelCallResult): CallUsage {
  return { usage: r.response.usage, provider: r.provider, model: r.model, attempts: r.attempts, costMicrosUsd: r.costMicrosUsd, cacheStatus: r.cacheStatus };
}

/** The usage of a completed embeddings call. */
export function embedCallUsage(r: EmbedCallResult): CallUsage {
  return { usage: r.response.usage, provider: r.provider, model: r.model, attempts: r.attempts, costMicrosUsd: r.costMicrosUsd, cacheStatus: r.cacheStatus };
}

function addTokens(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteInputTokens: a.cacheWriteInputTokens + b.cacheWriteInputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    estimated: a.estimated || b.estimated,
  };
}

/** Moves to another target: an attempt (not a hedge) on a different target than the one before, in the same call. */
function fallbacksOf(attempts: readonly AttemptRecord[]): number {
  let n = 0;
  for (let i = 1; i < attempts.length; i++) {
    const a = attempts[i];
    const before = attempts[i - 1];
    if (a !== undefined && before !== undefined && !a.hedged && sameCall(before, a) && a.targetIndex !== before.targetIndex) n++;
  }
  return n;
}

function combinedCacheStatus(calls: readonly CallUsage[]): CacheStatusName {
  const first = calls[0]?.cacheStatus ?? "bypass";
  return calls.every((c) => c.cacheStatus === first) ? first : "miss";
}

/** The one place a verb's usage is summed: tokens, cost, attempts and calls of every model call. */
export function sumUsage(calls: readonly CallUsage[], template?: PromptTemplateVersion): VerbUsage {
  let tokens = emptyUsage();
  let cost = 0n;
  let fallbacks = 0;
  const attempts: AttemptRecord[] = [];
  for (const c of calls) {
    tokens = addTokens(tokens, c.usage);
    cost += c.costMicrosUsd;
    fallbacks += fallbacksOf(c.attempts);
    for (const a of c.attempts) attempts.push({ ...a, usage: { ...a.usage }, index: attempts.length + 1 });
  }
  const last = calls.at(-1);
  return {
    tokens,
    costMicrosUsd: cost,
    provider: last?.provider ?? "",
    model: last?.model ?? "",
    attempts,
    fallbacks,
    cacheStatus: combinedCacheStatus(calls),
    modelCalls: calls.length,
    ...(template === undefined ? {} : { template: { name: template.name, version: template.version, builtin: template.builtin === true } }),
  };
}

/** Collects the calls of one verb invocation, in the order they complete. */
export interface UsageMeter {
  add(call: CallUsage): void;
  total(template?: PromptTemplateVersion): VerbUsage;
}

/** Creates a meter for one verb invocation. */
export function createUsageMeter(): UsageMeter {
  const calls: CallUsage[] = [];
  return {
    add: (call) => void calls.push(call),
    total: (template) => sumUsage(calls, template),
  };
}
