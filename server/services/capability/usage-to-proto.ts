import { create } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { CacheStatus, UsageSchema, type Usage } from "../../../gen/ts/switchboard/v1/common_pb.js";
import { toProtoAttempt } from "../../dispatch/attempt-record.js";
import type { CacheStatusName } from "../../pipeline/model-call.js";
import type { VerbUsage } from "../../verbs/verb-usage.js";

/** The proto's name for each way the cache took part. */
export const CACHE_STATUS: Record<CacheStatusName, CacheStatus> = {
  miss: CacheStatus.MISS,
  hit_exact: CacheStatus.HIT_EXACT,
  hit_semantic: CacheStatus.HIT_SEMANTIC,
  bypass: CacheStatus.BYPASS,
};

/** A verb's summed usage as the `switchboard.v1.Usage` every response carries. */
export function usageToProto(usage: VerbUsage, requestId: string, route: string): Usage {
  return create(UsageSchema, {
    inputTokens: BigInt(usage.tokens.inputTokens),
    outputTokens: BigInt(usage.tokens.outputTokens),
    cachedInputTokens: BigInt(usage.tokens.cachedInputTokens),
    cacheWriteInputTokens: BigInt(usage.tokens.cacheWriteInputTokens),
    reasoningTokens: BigInt(usage.tokens.reasoningTokens),
    costMicrosUsd: usage.costMicrosUsd,
    provider: usage.provider,
    model: usage.model,
    attempts: usage.attempts.map(toProtoAttempt),
    fallbacks: usage.fallbacks,
    cacheStatus: CACHE_STATUS[usage.cacheStatus],
    requestId,
    estimated: usage.tokens.estimated,
    modelCalls: usage.modelCalls,
    ...(usage.template === undefined || usage.template.builtin ? {} : { prompt: { name: usage.template.name, version: usage.template.version } }),
    route,
  });
}

/** Milliseconds as a protobuf Duration. */
export function msToDuration(ms: number): Duration {
  const whole = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Duration", seconds: BigInt(whole), nanos: Math.round((ms - whole * 1000) * 1e6) };
}
