import type { ResolvedRoute } from "../dispatch/route-types.js";
import { exactCacheKey } from "../cache/cache-key.js";
import type { CacheScope } from "../cache/response-cache.js";
import type { CallMeta, EmbedCall, ModelCall } from "./model-call.js";

/** How the cache takes part in one call, when it does. */
export interface CachePlan {
  scope: CacheScope;
  route: ResolvedRoute & { cache: NonNullable<ResolvedRoute["cache"]> };
  key: string;
}

/** What {@link cachePlanOf} reads. */
export interface CachePlanDeps {
  /** Route aliases as a caller's org sees them (the same resolver dispatch uses). */
  routes: { resolve(alias: string, orgId?: string): ResolvedRoute | undefined };
  /** Told when a request has no cache key (a value with no canonical form). */
  onError?: (operation: string, err: unknown) => void;
}

/**
 * The cache's part in a call: its tenant and route scope and its exact key; undefined when the
 * call has no caller (the tenant is part of every key), its route no cache TTL, or its request no
 * canonical form (a NaN control cannot be keyed safely, so it is not cached).
 */
export function cachePlanOf(deps: CachePlanDeps, meta: CallMeta, kind: "chat" | "embed", request: ModelCall["request"] | EmbedCall["request"]): CachePlan | undefined {
  const cached = cachedRouteOf(deps, meta);
  if (cached === undefined) return undefined;
  const { orgId, route } = cached;
  let key: string;
  try {
    key = exactCacheKey({ orgId, verb: meta.verb, kind, request, template: meta.template, route });
  } catch (err) {
    deps.onError?.("cache key", err);
    return undefined;
  }
  return { scope: { orgId, route: route.alias }, route, key };
}

/**
 * The oldest entry the call may be answered with (ms): its own `max_age`, and never older than the
 * route's TTL as it is now (an entry written under a longer TTL the route has since shortened is
 * stale by the route's own rule: `CachePolicy.max_age` "Unset: the route's TTL decides").
 */
export function maxAgeOf(plan: CachePlan, meta: CallMeta): number {
  const asked = meta.cache.maxAgeMs;
  return asked === undefined ? plan.route.cache.ttlMs : Math.min(asked, plan.route.cache.ttlMs);
}

/** Whether the call's cache mode reads the cache (`bypass` and `refresh` never do). */
export function readsCache(meta: CallMeta): boolean {
  return meta.cache.mode !== "bypass" && meta.cache.mode !== "refresh";
}

/**
 * The cache scope (org, route) that may answer the call from an entry: the call has a caller, a
 * cache mode that reads (`bypass` and `refresh` never do) and a route with a cache TTL; undefined
 * when the cache cannot answer it, and the stages that would wait for the cache's miss need not
 * (`createSplitRateLimitStages`, `BudgetStage.early`).
 */
export function answeringScopeOf(deps: Pick<CachePlanDeps, "routes">, meta: CallMeta): CacheScope | undefined {
  const cached = readsCache(meta) ? cachedRouteOf(deps, meta) : undefined;
  return cached === undefined ? undefined : { orgId: cached.orgId, route: cached.route.alias };
}

/** The caller's org and the call's route as that org sees it, when the route has a cache TTL; undefined without a caller. */
function cachedRouteOf(deps: Pick<CachePlanDeps, "routes">, meta: CallMeta): { orgId: string; route: CachePlan["route"] } | undefined {
  const orgId = meta.caller?.orgId;
  if (orgId === undefined) return undefined;
  const route = deps.routes.resolve(meta.route, orgId);
  return route?.cache === undefined ? undefined : { orgId, route: route as CachePlan["route"] };
}
