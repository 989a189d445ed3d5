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
 * that route can be sent until a breaker half-opens). The reason names at most five of the
 * gateway-wide routes (the operator's configuration) and only counts the routes orgs made:
 * `/readyz` answers anyone who can reach it, and a tenant's route aliases and org ids are theirs.
 */
export function providersProbe(deps: ProvidersProbeDeps): DependencyProbe {
  return {
    name: "providers",
    async check() {
      const dark: string[] = [];
      let orgRoutes = 0;
      for (const { orgId, route } of deps.routes.list()) {
        if (route.targets.length === 0 || !route.targets.every((t) => deps.breakers.peek(t) === "open")) continue;
        if (orgId === undefined) dark.push(route.alias);
        else orgRoutes++;
      }
      if (dark.length === 0 && orgRoutes === 0) return undefined;
      const named = dark.slice(0, 5);
      const more = dark.length - named.length;
      const parts = [...named, ...(more > 0 ? [`${more} more`] : []), ...(orgRoutes > 0 ? [`${orgRoutes} route${orgRoutes > 1 ? "s" : ""} of orgs`] : [])];
      const list = parts.length > 1 ? `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)!}` : parts[0]!;
      return `every target's circuit is open on ${dark.length + orgRoutes > 1 ? "routes" : "route"} ${list}`;
    },
  };
}
