import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { RouteSchema } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { pollRefresh, serialRefresh } from "../runtime/snapshot-refresh.js";
import type { RouteStore } from "../store/route-store.js";
import { routeInputFromSpec } from "./route-spec.js";
import { withDefaults, type ResolvedRoute } from "./route-types.js";

/** Options of {@link createRouteResolver}. */
export interface RouteResolverOptions {
  store: Pick<RouteStore, "revision" | "loadAll">;
  /** How often to check for route changes (default 1 s): the bound on how stale a replica is. */
  pollMs?: number;
  /** Called when a poll fails; the last good snapshot keeps serving. */
  onError?: (err: unknown) => void;
}

/** Resolves route aliases from an in-process snapshot that follows the database. */
export interface RouteResolver {
  /**
   * The route `alias` means for callers of org `orgId`: the org's own route, else the global
   * one. Synchronous: the hot path never waits on the database.
   */
  resolve(alias: string, orgId?: string): ResolvedRoute | undefined;
  /** Every route of the snapshot: global ones (no `orgId`) and each org's own. */
  list(): Array<{ orgId?: string; route: ResolvedRoute }>;
  /**
   * Checks for changes now and reloads if any (start-up, after a write on this replica, tests). A
   * call made while a reload runs gets the next one, so a caller that has just written sees its write.
   */
  refresh(): Promise<void>;
  close(): void;
}

/**
 * Creates a resolver that polls the routes' revision every `pollMs` and reloads every live route
 * when it moved, so a change made on any replica is served by every replica within one poll
 * interval, without a restart. A database outage keeps the last snapshot (routes change rarely;
 * refusing traffic because Postgres blinked would be worse).
 */
export function createRouteResolver(opts: RouteResolverOptions): RouteResolver {
  const pollMs = opts.pollMs ?? 1_000;
  let snapshot = new Map<string, ResolvedRoute>();
  let seen: string | undefined;
  const key = (orgId: string | undefined, alias: string) => `${orgId ?? ""}/${alias}`;

  const reload = async () => {
    const revision = await opts.store.revision();
    if (revision === seen) return;
    const next = new Map<string, ResolvedRoute>();
    for (const record of await opts.store.loadAll()) {
      try {
        const route = fromJson(RouteSchema, record.spec as JsonValue, { ignoreUnknownFields: true });
        next.set(key(record.orgId ?? undefined, record.alias), withDefaults(routeInputFromSpec(record.alias, route)));
      } catch (err) {
        opts.onError?.(err);
      }
    }
    snapshot = next;
    seen = revision;
  };
  const refresh = serialRefresh(reload);
  const stop = pollRefresh(refresh, pollMs, opts.onError);

  return {
    resolve: (alias, orgId) => (orgId === undefined ? undefined : snapshot.get(key(orgId, alias))) ?? snapshot.get(key(undefined, alias)),
    list: () =>
      [...snapshot].map(([k, route]) => {
        const orgId = k.slice(0, k.length - route.alias.length - 1);
        return orgId === "" ? { route } : { orgId, route };
      }),
    refresh,
    close: stop,
  };
}
