import type { BreakerState, BreakerTarget } from "../dispatch/breaker.js";
import type { ResolvedRoute } from "../dispatch/route-types.js";
import type { DependencyProbe } from "./readiness.js";

/** Postgres (or PGlite): a trivial query answers. */
export function databaseProbe(ping: () => Promise<void>): DependencyProbe {
  return { name: "postgres", check: async () => void (await ping()) };
}

/** The fast-path state backend (Redis with `REDIS_URL`, else in-process): `PING` answers. */
export function stateProbe(state: { ping(): Promise<void> }): DependencyProbe {
  return { name: "state", check: async () => void (await state.ping()) };
}

/** What {@link providersProbe} reads: the routes in force and the breakers' states. */
export interface ProvidersProbeDeps {
  routes: { list(): Array<{ orgId?: string; route: ResolvedRoute }> };
  breakers: { peek(target: BreakerTarget): BreakerState | undefined };
}

/**
 * Providers: degraded while some route has every target's circuit breaker open (no request of
 * that route can be sent until a breaker half-opens). Names at most five such routes.
 */
export function providersProbe(deps: ProvidersProbeDeps): DependencyProbe {
  return {
    name: "providers",
    async check() {
      const dark: string[] = [];
      for (const { orgId, route } of deps.routes.list()) {
        if (route.targets.length === 0) continue;
        if (route.targets.every((t) => deps.breakers.peek(t) === "open")) dark.push(orgId === undefined ? route.alias : `${route.alias} (org ${orgId})`);
      }
      if (dark.length === 0) return undefined;
      const named = dark.slice(0, 5).join(", ");
      return `every target's circuit is open on route${dark.length > 1 ? "s" : ""} ${named}${dark.length > 5 ? ` and ${dark.length - 5} more` : ""}`;
    },
  };
}
