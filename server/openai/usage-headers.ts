import type { CacheStatusName } from "../pipeline/model-call.js";

/** The usage facts of a call that leave as `x-switchboard-*` headers. */
export interface UsageFacts {
  provider: string;
  attempts: readonly unknown[];
  costMicrosUsd: bigint;
  cacheStatus: CacheStatusName;
}

/** Names of the usage headers, in the order they are documented (and declared as stream trailers). */
export const USAGE_HEADER_NAMES = ["x-switchboard-cost-micros-usd", "x-switchboard-provider", "x-switchboard-attempts", "x-switchboard-cache"] as const;

/**
 * Switchboard's usage extras, which OpenAI's wire JSON has no place for: the cost of every
 * attempt in integer micro-USD, the provider that answered, how many attempts were made (failed
 * ones included) and how the cache took part (`miss`, `hit_exact`, `hit_semantic`, `bypass`).
 * Unary answers send them as headers; streams as HTTP trailers, since they are known only at the end.
 */
export function usageHeaders(facts: UsageFacts): Record<(typeof USAGE_HEADER_NAMES)[number], string> {
  return {
    "x-switchboard-cost-micros-usd": facts.costMicrosUsd.toString(),
    "x-switchboard-provider": facts.provider,
    "x-switchboard-attempts": String(facts.attempts.length),
    "x-switchboard-cache": facts.cacheStatus,
  };
}
