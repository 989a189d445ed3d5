/**
 * A route as dispatch sees it: an alias resolved to its targets and policies, every default
 * filled in. Route storage and `RouteService` produce `RouteInput`s; `withDefaults` is the one
 * place that knows the defaults and the hard caps, so dispatch never re-checks a knob.
 */

/** One provider deployment a route may send a request to, defaults applied. */
export interface RouteTarget {
  /** Provider kind as the registry knows it (`openai`, `anthropic`, `sandbox`, …). */
  provider: string;
  /** The provider's model id; replaces whatever model the request named. */
  model: string;
  /** Credential resource name; absent when the provider needs none. */
  credential?: string;
  /** Relative share among targets of the same priority (default 1; 0: only after the others). */
  weight: number;
  /** Lower is tried first; higher priorities are fallbacks (default 0). */
  priority: number;
  /** Per-attempt limit: a unary call, or the whole of one streamed attempt. Unset: none. */
  attemptTimeoutMs?: number;
  /** Time-to-first-token limit of a streamed attempt (default 60 s). */
  firstTokenTimeoutMs: number;
  /** Longest silence between stream chunks (default 60 s). */
  idleTimeoutMs: number;
  /** Provider-specific settings (for example an Azure deployment). */
  params: Record<string, string>;
  /** The model's context window in tokens; a longer prompt skips the target. Unset: not checked. */
  contextWindowTokens?: number;
}

/** Retries of one target before falling back, and the process-wide retry budget knobs. */
export interface RetryPolicy {
  /** Attempts per target, the first included (default 2, clamped to 1..5). */
  maxAttempts: number;
  /** Base of the full-jitter exponential backoff (default 25 ms). */
  initialBackoffMs: number;
  /** Cap of the jittered backoff (default 250 ms). */
  maxBackoffMs: number;
  /** Concurrent retries allowed as a share of active requests, in percent (default 20). */
  budgetPercent: number;
  /** Concurrent retries always allowed, whatever the traffic (default 3). */
  minRetryConcurrency: number;
  /** Whether an `auth` failure (our credential is broken) falls back to the next target (default true). */
  fallbackOnAuth: boolean;
  /**
   * Whether a provider's context-length refusal falls back to the next untried target (default
   * true): the route may list a bigger-window model. The refusing target is never retried.
   */
  fallbackOnContextLength: boolean;
  /** Whether a provider's content-filter refusal falls back to the next untried target (default false). */
  fallbackOnContentFilter: boolean;
  /** gRPC A6 throttling: size of each target's token bucket; retries stop at half or less (default 10, 1..1000). */
  throttleMaxTokens: number;
  /** Tokens a success gives back to its target's bucket (default 0.1, 0.001..1, three decimals). */
  throttleTokenRatio: number;
}

/** Hedging of unary calls: a parallel twin on the next target when the first is slow. */
export interface HedgePolicy {
  /** Delay before a twin is sent. Unset: no hedging. */
  delayMs?: number;
  /** Twins at most (default 1, clamped to 0..2). */
  maxHedges: number;
}

/** The circuit breaker kept per target (provider/model/credential), per process. */
export interface BreakerPolicy {
  /** Failure share, in percent, that opens the breaker (default 50). */
  errorThresholdPercent: number;
  /** Requests needed in the window before the breaker may open (default 20). */
  volumeThreshold: number;
  /** Time an open breaker waits before letting one probe through (default 30 s). */
  resetTimeoutMs: number;
  /** Length of the rolling window the failure share is computed over (default 10 s). */
  rollingWindowMs: number;
}

/**
 * How a route uses the response cache (`server/cache/`). Present only when the route caches: a
 * route without a positive TTL has no `cache`, and the cache stage passes its calls through.
 */
export interface RouteCachePolicy {
  /** How long a stored answer may be served (ms, > 0). */
  ttlMs: number;
  /** Also look up semantically similar requests (opt-in). */
  semantic: boolean;
  /** Cosine similarity a semantic hit needs (default 0.95, clamped to 0..1). */
  semanticThreshold: number;
  /** Route alias whose embedding model embeds prompts; unset: the gateway's local embedding. */
  embeddingRoute?: string;
}

/**
 * How a route orders the targets of one priority when not weighted random (`target-order.ts`):
 * fewest attempts in flight first, or lowest recent latency first.
 */
export type BalanceStrategy = "least_busy" | "latency";

/** A route's strategy as configured: `weighted` is the default, weighted random. */
export type RouteStrategy = "weighted" | BalanceStrategy;

/** A route alias resolved to ordered, weighted targets and the policies that govern them. */
export interface ResolvedRoute {
  alias: string;
  targets: RouteTarget[];
  retry: RetryPolicy;
  hedge: HedgePolicy;
  breaker: BreakerPolicy;
  /** Overall deadline across every attempt when the caller's is later or absent (default 120 s). */
  timeoutMs: number;
  /** Response-cache policy; absent: the route does not cache. */
  cache?: RouteCachePolicy;
  /** Max output tokens of a request that sets none (the budget stage applies it); absent: none. */
  defaultMaxOutputTokens?: number;
  /** How targets of one priority are ordered; absent: weighted random (the default, which allocates least). */
  strategy?: BalanceStrategy;
}

/** A target as configured: only `provider` and `model` are required. */
export type RouteTargetInput = Pick<RouteTarget, "provider" | "model"> & Partial<Omit<RouteTarget, "provider" | "model">>;

/** A route as configured: only `alias` and `targets` are required. */
export interface RouteInput {
  alias: string;
  targets: RouteTargetInput[];
  retry?: Partial<RetryPolicy>;
  hedge?: Partial<HedgePolicy>;
  breaker?: Partial<BreakerPolicy>;
  timeoutMs?: number;
  cache?: Partial<RouteCachePolicy>;
  defaultMaxOutputTokens?: number;
  strategy?: RouteStrategy;
}

/** The defaults `withDefaults` applies (RELIABILITY.md §7, Envoy and gRPC A6 anchors). */
export const ROUTE_DEFAULTS = {
  weight: 1,
  priority: 0,
  firstTokenTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  retry: {
    maxAttempts: 2,
    initialBackoffMs: 25,
    maxBackoffMs: 250,
    budgetPercent: 20,
    minRetryConcurrency: 3,
    fallbackOnAuth: true,
    fallbackOnContextLength: true,
    fallbackOnContentFilter: false,
    throttleMaxTokens: 10,
    throttleTokenRatio: 0.1,
  },
  hedge: { maxHedges: 1 },
  breaker: { errorThresholdPercent: 50, volumeThreshold: 20, resetTimeoutMs: 30_000, rollingWindowMs: 10_000 },
  timeoutMs: 120_000,
  cache: { semanticThreshold: 0.95 },
} as const;

/** Hard cap on attempts per target, the first included (gRPC A6). */
export const MAX_ATTEMPTS_CAP = 5;
/** Hard cap on hedged twins per request. */
export const MAX_HEDGES_CAP = 2;

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const nonNegative = (v: number | undefined, fallback: number): number =>
  v === undefined || !Number.isFinite(v) || v < 0 ? fallback : v;

/**
 * Fills every default and clamps every knob to its allowed range, so a `ResolvedRoute` can be
 * used without further checks. Validation that names a bad field (unknown provider, weights) is
 * RouteService's job; this only normalises.
 */
export function withDefaults(input: RouteInput): ResolvedRoute {
  const d = ROUTE_DEFAULTS;
  const retry = input.retry ?? {};
  const hedge = input.hedge ?? {};
  const breaker = input.breaker ?? {};
  return {
    alias: input.alias,
    targets: input.targets.map((t) => {
      const target: RouteTarget = {
        provider: t.provider,
        model: t.model,
        weight: nonNegative(t.weight, d.weight),
        priority: nonNegative(t.priority, d.priority),
        firstTokenTimeoutMs: positiveOr(t.firstTokenTimeoutMs, d.firstTokenTimeoutMs),
        idleTimeoutMs: positiveOr(t.idleTimeoutMs, d.idleTimeoutMs),
        params: { ...(t.params ?? {}) },
      };
      if (t.credential !== undefined && t.credential !== "") target.credential = t.credential;
      if (t.attemptTimeoutMs !== undefined && t.attemptTimeoutMs > 0) target.attemptTimeoutMs = t.attemptTimeoutMs;
      if (t.contextWindowTokens !== undefined && t.contextWindowTokens > 0) target.contextWindowTokens = Math.floor(t.contextWindowTokens);
      return target;
    }),
    retry: {
      maxAttempts: clamp(Math.floor(retry.maxAttempts ?? d.retry.maxAttempts), 1, MAX_ATTEMPTS_CAP),
      initialBackoffMs: nonNegative(retry.initialBackoffMs, d.retry.initialBackoffMs),
      maxBackoffMs: nonNegative(retry.maxBackoffMs, d.retry.maxBackoffMs),
      budgetPercent: clamp(nonNegative(retry.budgetPercent, d.retry.budgetPercent), 0, 100),
      minRetryConcurrency: nonNegative(retry.minRetryConcurrency, d.retry.minRetryConcurrency),
      fallbackOnAuth: retry.fallbackOnAuth ?? d.retry.fallbackOnAuth,
      fallbackOnContextLength: retry.fallbackOnContextLength ?? d.retry.fallbackOnContextLength,
      fallbackOnContentFilter: retry.fallbackOnContentFilter ?? d.retry.fallbackOnContentFilter,
      throttleMaxTokens: clamp(positiveOr(retry.throttleMaxTokens, d.retry.throttleMaxTokens), 1, 1000),
      // A6: the ratio has three decimals at most; a proto float's 0.1 arrives as 0.10000000149.
      throttleTokenRatio: clamp(Math.round(positiveOr(retry.throttleTokenRatio, d.retry.throttleTokenRatio) * 1000) / 1000, 0.001, 1),
    },
    hedge: {
      ...(hedge.delayMs !== undefined && hedge.delayMs >= 0 ? { delayMs: hedge.delayMs } : {}),
      maxHedges: clamp(Math.floor(hedge.maxHedges ?? d.hedge.maxHedges), 0, MAX_HEDGES_CAP),
    },
    breaker: {
      errorThresholdPercent: clamp(nonNegative(breaker.errorThresholdPercent, d.breaker.errorThresholdPercent), 0, 100),
      volumeThreshold: nonNegative(breaker.volumeThreshold, d.breaker.volumeThreshold),
      resetTimeoutMs: nonNegative(breaker.resetTimeoutMs, d.breaker.resetTimeoutMs),
      rollingWindowMs: positiveOr(breaker.rollingWindowMs, d.breaker.rollingWindowMs),
    },
    timeoutMs: positiveOr(input.timeoutMs, d.timeoutMs),
    ...cachePolicyOf(input.cache),
    ...(input.defaultMaxOutputTokens !== undefined && input.defaultMaxOutputTokens > 0 ? { defaultMaxOutputTokens: Math.floor(input.defaultMaxOutputTokens) } : {}),
    ...(input.strategy === "least_busy" || input.strategy === "latency" ? { strategy: input.strategy } : {}),
  };
}

/** The route's cache policy, or nothing when its TTL is unset or not positive (no caching). */
function cachePolicyOf(cache: Partial<RouteCachePolicy> | undefined): { cache?: RouteCachePolicy } {
  if (cache?.ttlMs === undefined || !Number.isFinite(cache.ttlMs) || cache.ttlMs <= 0) return {};
  const threshold = cache.semanticThreshold;
  return {
    cache: {
      ttlMs: Math.ceil(cache.ttlMs),
      semantic: cache.semantic ?? false,
      semanticThreshold:
        threshold === undefined || !Number.isFinite(threshold) || threshold <= 0 ? ROUTE_DEFAULTS.cache.semanticThreshold : clamp(threshold, 0, 1),
      ...(cache.embeddingRoute ? { embeddingRoute: cache.embeddingRoute } : {}),
    },
  };
}

function positiveOr(v: number | undefined, fallback: number): number {
  return v === undefined || !Number.isFinite(v) || v <= 0 ? fallback : v;
}
