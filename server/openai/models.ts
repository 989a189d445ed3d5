import type { Principal } from "../auth/principal.js";
import type { RouteRecord, RouteStore } from "../store/route-store.js";

/** One route alias a caller can see. */
export interface RouteEntry {
  alias: string;
  createdAt: Date;
  /** The owning org's name; `null` for a global route. */
  orgName: string | null;
}

/** The route aliases an org's callers see: its own and the global ones. */
export type ListRoutes = (orgId: string) => Promise<RouteEntry[]>;

const PAGE = 500;

/**
 * Lists, from the route store, the aliases callers of `orgId` resolve: the org's own routes and
 * the global ones, an org route hiding a global route of the same alias (the resolver's rule).
 */
export function createRouteLister(store: Pick<RouteStore, "list">): ListRoutes {
  const all = async (orgId: string | null): Promise<RouteRecord[]> => {
    const out: RouteRecord[] = [];
    let after: string | undefined;
    do {
      const page = await store.list(orgId, { limit: PAGE, ...(after === undefined ? {} : { after }) });
      out.push(...page.items);
      after = page.after;
    } while (after !== undefined);
    return out;
  };
  return async (orgId) => {
    const [own, global] = await Promise.all([all(orgId), all(null)]);
    const byAlias = new Map<string, RouteEntry>();
    for (const r of [...global, ...own]) byAlias.set(r.alias, { alias: r.alias, createdAt: r.createdAt, orgName: r.orgName });
    return [...byAlias.values()].sort((a, b) => a.alias.localeCompare(b.alias));
  };
}

/** Whether `principal` may call route `alias` (an empty allow-list allows every route of its org). */
export function mayUseRoute(principal: Principal, alias: string): boolean {
  return principal.allowedRoutes.length === 0 || principal.allowedRoutes.includes(alias);
}

/**
 * A route as a model object both SDKs read: OpenAI's (`object`, `created`, `owned_by`) and
 * Anthropic's (`type`, `display_name`, `created_at`) — each ignores the other's fields, so
 * `/v1/models` serves the OpenAI and the Messages surface alike. `id` is the alias to send as `model`.
 */
export function modelObjectOf(route: RouteEntry): Record<string, unknown> {
  return {
    id: route.alias,
    object: "model",
    created: Math.floor(route.createdAt.getTime() / 1000),
    owned_by: route.orgName ?? "switchboard",
    type: "model",
    display_name: route.alias,
    created_at: route.createdAt.toISOString(),
  };
}

/**
 * `GET /v1/models`: the routes `principal` may use, as OpenAI's list of model objects (and
 * Anthropic's page: `has_more`, `first_id`, `last_id`); with
 * `reachable`, only those of them it can reach a target of (its allowed_models).
 */
export function modelListOf(routes: readonly RouteEntry[], principal: Principal, reachable: (alias: string) => boolean = () => true): Record<string, unknown> {
  const data = routes.filter((r) => mayUseRoute(principal, r.alias) && reachable(r.alias)).map(modelObjectOf);
  // Anthropic's page fields too: one page, the whole list.
  return { object: "list", data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
