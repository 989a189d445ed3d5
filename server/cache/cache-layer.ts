import type { Logger } from "../observability/logger.js";
import type { StateBackend } from "../store/state/state-backend.js";
import { createCacheStats, type CacheStats } from "./cache-stats.js";
import { createResponseCache, type ResponseCache } from "./response-cache.js";
import { createSemanticCache, type SemanticCache } from "./semantic/semantic-cache.js";

/** The response cache's parts, built once per replica over the shared StateBackend. */
export interface CacheLayer {
  cache: ResponseCache;
  semantic: SemanticCache;
  stats: CacheStats;
  /** Writes the statistics still buffered in this replica and stops their timer: call on shutdown. */
  close(): Promise<void>;
}

/**
 * Builds the exact cache, the semantic cache and the statistics over `state` (Redis with
 * `REDIS_URL`, in-process otherwise). Backend failures are logged as warnings and never fail a
 * request: the cache bypasses itself (see `createResponseCache`).
 */
export function createCacheLayer(deps: { state: StateBackend; logger: Logger }): CacheLayer {
  const warn = (operation: string, err: unknown) =>
    deps.logger.warn({ operation, err: err instanceof Error ? err.message : String(err) }, "response cache unavailable; bypassing it");
  const stats = createCacheStats({ state: deps.state, onError: (err) => warn("stats", err) });
  return {
    cache: createResponseCache({ state: deps.state, onError: warn }),
    semantic: createSemanticCache({ state: deps.state, onError: warn }),
    stats,
    close: () => stats.close(),
  };
}
