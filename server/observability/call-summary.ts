import type { CacheStatusName } from "../pipeline/model-call.js";
import type { VerbUsage } from "../verbs/verb-usage.js";

/**
 * What a CapabilityService RPC consumed, summed over every model call it made: written once per
 * RPC by the service (at the terminal event for streams) into the `kCallSummary` context value,
 * and read by the telemetry interceptor for the access-log line, the RPC span and the RPC
 * metrics. Ids and counts only: never request or response content.
 */
export interface CallSummary {
  /** The route alias the calls went through (one the caller's org has: unknown ones fail first). */
  route: string;
  /** Provider kind and model of the last call (the one that produced the final answer). */
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  /** Every attempt of every call, in micro-USD. */
  costMicrosUsd: bigint;
  cacheStatus: CacheStatusName;
  /** Attempts over every call, failed, skipped and hedged ones included. */
  attempts: number;
  fallbacks: number;
  modelCalls: number;
  /** Streams: `performance.now()` when the first content (text or tool call) was sent. */
  firstTokenAt?: number;
  /** Streams: how the stream ended (`completed`, `truncated`, `upstream_error`, `budget_exhausted`). */
  terminal?: string;
}

/** Streaming facts the service adds to a summary. */
export interface StreamFacts {
  firstTokenAt?: number;
  terminal: string;
}

/** The {@link CallSummary} of a verb's summed usage. */
export function callSummaryOf(route: string, usage: VerbUsage, stream?: StreamFacts): CallSummary {
  return {
    route,
    provider: usage.provider,
    model: usage.model,
    inputTokens: usage.tokens.inputTokens,
    outputTokens: usage.tokens.outputTokens,
    cachedInputTokens: usage.tokens.cachedInputTokens,
    reasoningTokens: usage.tokens.reasoningTokens,
    costMicrosUsd: usage.costMicrosUsd,
    cacheStatus: usage.cacheStatus,
    attempts: usage.attempts.length,
    fallbacks: usage.fallbacks,
    modelCalls: usage.modelCalls,
    ...(stream?.firstTokenAt === undefined ? {} : { firstTokenAt: stream.firstTokenAt }),
    ...(stream === undefined ? {} : { terminal: stream.terminal }),
  };
}
