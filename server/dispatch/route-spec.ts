import { clone } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Route_Strategy, RouteSchema, type Route } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { closestName } from "../config/closest-name.js";
import type { RouteInput, RouteStrategy, RouteTargetInput } from "./route-types.js";

/** What a route alias is (as the schema's `RequestOptions.route` and the config's `routes` keys). */
export const ROUTE_ALIAS = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** What {@link ROUTE_ALIAS} asks, in words. */
export const ROUTE_ALIAS_RULE = "a route alias is 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit";

/** A problem in a route, at the path of the offending field (`targets[1].provider`), and the rule it breaks. */
export interface RouteIssue {
  path: string;
  message: string;
  ruleId: string;
}

/** What route validation needs to know about providers (from the registry's declarations). */
export interface ProviderCatalog {
  kinds: readonly string[];
  /** Whether the kind needs a credential (local servers and the sandbox do not). */
  needsCredential(kind: string): boolean;
  /** The keys a credential's `settings` may hold for the kind (`ProviderDeclaration.settings`). */
  settings(kind: string): readonly string[];
  /** The keys a target's `params` may hold for the kind (`ProviderDeclaration.params`). */
  params(kind: string): readonly string[];
}

/**
 * Checks a `switchboard.v1.Route` beyond what protovalidate can: every provider kind exists (with
 * a "did you mean" for typos), each priority group can receive traffic (not every weight 0 — a
 * weight of 0 in the proto means the default, 1, so this can only come from configuration), and a
 * provider that needs a key names a credential. Returns every issue, none when valid.
 */
export function validateRoute(route: Route, catalog: ProviderCatalog): RouteIssue[] {
  const issues: RouteIssue[] = [];
  if (route.targets.length === 0) issues.push({ path: "targets", message: "a route needs at least one target", ruleId: "route.targets.required" });
  route.targets.forEach((t, i) => {
    if (!catalog.kinds.includes(t.provider)) {
      const guess = closestName(t.provider, catalog.kinds);
      issues.push({
        path: `targets[${i}].provider`,
        message: `unknown provider "${t.provider}"${guess ? ` (did you mean "${guess}"?)` : ""}; known: ${catalog.kinds.join(", ")}`,
        ruleId: "route.target.provider.known",
      });
    } else if (t.credential === "" && catalog.needsCredential(t.provider)) {
      issues.push({ path: `targets[${i}].credential`, message: `provider "${t.provider}" needs a credential`, ruleId: "route.target.credential.required" });
    }
    if (catalog.kinds.includes(t.provider)) {
      const known = catalog.params(t.provider);
      for (const key of Object.keys(t.params)) {
        if (known.includes(key)) continue;
        const takes = known.length === 0 ? `provider "${t.provider}" takes none` : `known: ${known.join(", ")}`;
        issues.push({ path: `targets[${i}].params[${JSON.stringify(key)}]`, message: `unknown param; ${takes}`, ruleId: "route.target.params.known" });
      }
    }
    if (t.model.trim() === "") issues.push({ path: `targets[${i}].model`, message: "a target needs a model", ruleId: "route.target.model.required" });
  });
  const retry = route.retry;
  if (retry?.initialBackoff && retry.maxBackoff && durationMs(retry.initialBackoff) > durationMs(retry.maxBackoff)) {
    issues.push({ path: "retry.initial_backoff", message: "must not exceed retry.max_backoff", ruleId: "route.retry.backoff_order" });
  }
  return issues;
}

/**
 * A stored or submitted `switchboard.v1.Route` as dispatch's `RouteInput`. Zero values in the
 * proto mean "the default" (proto3 cannot tell unset from 0); `withDefaults` fills them.
 */
export function routeInputFromSpec(alias: string, route: Route): RouteInput {
  const ms = (d: Parameters<typeof durationMs>[0] | undefined) => (d === undefined ? undefined : durationMs(d));
  const positive = (n: number) => (n > 0 ? n : undefined);
  const targets: RouteTargetInput[] = route.targets.map((t) =>
    definedOnly({
      provider: t.provider,
      model: t.model,
      credential: t.credential || undefined,
      weight: positive(t.weight),
      priority: t.priority,
      attemptTimeoutMs: ms(t.attemptTimeout),
      firstTokenTimeoutMs: ms(t.firstTokenTimeout),
      idleTimeoutMs: ms(t.idleTimeout),
      params: { ...t.params },
      contextWindowTokens: positive(t.contextWindowTokens),
    }) as RouteTargetInput,
  );
  return definedOnly({
    alias,
    targets,
    retry: route.retry
      ? definedOnly({
          maxAttempts: positive(route.retry.maxAttempts),
          initialBackoffMs: ms(route.retry.initialBackoff),
          maxBackoffMs: ms(route.retry.maxBackoff),
          budgetPercent: positive(route.retry.budgetPercent),
          throttleMaxTokens: positive(route.retry.throttleMaxTokens),
          throttleTokenRatio: positive(route.retry.throttleTokenRatio),
          // Optional in the proto: unset keeps the default (on).
          fallbackOnContextLength: route.retry.fallbackOnContextLength,
          fallbackOnContentFilter: route.retry.fallbackOnContentFilter,
        })
      : undefined,
    hedge: route.hedge ? definedOnly({ delayMs: ms(route.hedge.delay), maxHedges: positive(route.hedge.maxHedges) }) : undefined,
    breaker: route.breaker
      ? definedOnly({
          errorThresholdPercent: positive(route.breaker.errorThresholdPercent),
          volumeThreshold: positive(route.breaker.volumeThreshold),
          resetTimeoutMs: ms(route.breaker.resetTimeout),
        })
      : undefined,
    timeoutMs: ms(route.timeout),
    defaultMaxOutputTokens: positive(route.defaultMaxOutputTokens),
    strategy: STRATEGIES[route.strategy],
    cache: route.cache
      ? definedOnly({
          ttlMs: ms(route.cache.ttl),
          semantic: route.cache.semantic,
          // A proto float: 0.95 arrives as 0.949999988…; six digits is what a person typed.
          semanticThreshold: route.cache.semanticThreshold > 0 ? Math.round(route.cache.semanticThreshold * 1e6) / 1e6 : undefined,
          embeddingRoute: route.cache.embeddingRoute || undefined,
        })
      : undefined,
  }) as RouteInput;
}

/** The proto's strategies as dispatch names them; unset (and a value this build does not know) is the default. */
const STRATEGIES: Partial<Record<Route_Strategy, RouteStrategy>> = {
  [Route_Strategy.WEIGHTED]: "weighted",
  [Route_Strategy.LEAST_BUSY]: "least_busy",
  [Route_Strategy.LATENCY]: "latency",
};

/** Drops `undefined` properties (exactOptionalPropertyTypes-friendly objects). */
function definedOnly<T extends Record<string, unknown>>(obj: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/**
 * The route without the fields the server owns (name, create and update times): what is stored,
 * and what a config-seeded route and a retried create are compared by.
 */
export function routeSpec(route: Route): Route {
  const spec = clone(RouteSchema, route);
  spec.name = "";
  spec.createTime = undefined;
  spec.updateTime = undefined;
  return spec;
}
