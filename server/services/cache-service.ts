import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { CacheService } from "../../gen/ts/switchboard/v1/cache_service_pb.js";
import { orgScopeOf, requirePlatformAdmin } from "../auth/access.js";
import type { CacheStats } from "../cache/cache-stats.js";
import type { PurgeTarget, ResponseCache } from "../cache/response-cache.js";
import type { RouteStore } from "../store/route-store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { callerOf } from "./caller.js";
import { parseOrgName } from "./resource-names.js";

/** Dependencies of {@link createCacheService}. */
export interface CacheServiceDeps {
  cache: ResponseCache;
  stats: CacheStats;
  tenants: TenantStore;
  /** Route aliases, for a key-prefix purge that names no route. */
  routes: RouteStore;
}

/**
 * `switchboard.v1.CacheService`: statistics and purges of the response cache. Both act on the
 * shared StateBackend, so statistics add up every replica's traffic and a purge takes effect on
 * every replica at once. An org's callers see only their org (another org is NotFound); the whole
 * cache (empty `parent`) needs SCOPE_PLATFORM_ADMIN.
 */
export function createCacheService(deps: CacheServiceDeps): ServiceImpl<typeof CacheService> {
  /** The org id `parent` names (checked against the caller), or undefined for every org. */
  const orgOf = async (ctx: HandlerContext, parent: string, action: string): Promise<string | undefined> => {
    const principal = callerOf(ctx);
    if (parent === "") {
      requirePlatformAdmin(principal, `${action} across every org`);
      return undefined;
    }
    const org = await deps.tenants.getOrg(parseOrgName(parent, "parent"), orgScopeOf(principal));
    if (org === undefined) throw new ConnectError(`org ${parent} not found`, Code.NotFound);
    return org.id;
  };
  /** Every org id (platform-wide purges narrowed to a route or key prefix visit each org). */
  const allOrgIds = async (): Promise<string[]> => {
    const ids: string[] = [];
    let after: string | undefined;
    do {
      const page = await deps.tenants.listOrgs({ allOrgs: true }, { limit: 1000, ...(after === undefined ? {} : { after }) });
      ids.push(...page.items.map((o) => o.id));
      after = page.after;
    } while (after !== undefined);
    return ids;
  };
  /** The route aliases an org's callers can reach: its own and the global ones. */
  const aliasesOf = async (orgId: string): Promise<string[]> => {
    const all = await deps.routes.loadAll();
    return [...new Set(all.filter((r) => r.orgId === null || r.orgId === orgId).map((r) => r.alias))];
  };
  const purgeOrg = async (orgId: string, route: string, keyPrefix: string): Promise<number> => {
    if (route === "" && keyPrefix === "") return purge({ orgId });
    const aliases = route !== "" ? [route] : await aliasesOf(orgId);
    let purged = 0;
    for (const alias of aliases) purged += await purge({ orgId, route: alias, ...(keyPrefix === "" ? {} : { keyPrefix }) });
    return purged;
  };
  const purge = async (target: PurgeTarget): Promise<number> => {
    const count = await deps.cache.purge(target);
    const orgId = "orgId" in target ? target.orgId : undefined;
    const route = "orgId" in target && target.keyPrefix === undefined ? target.route : undefined;
    await deps.stats.purged(orgId, route, count).catch(() => undefined);
    return count;
  };

  return {
    async getCacheStats(req, ctx) {
      const orgId = await orgOf(ctx, req.parent, "GetCacheStats");
      const s = await deps.stats.read(orgId, req.route || undefined);
      return {
        exactHits: BigInt(s.exactHits),
        semanticHits: BigInt(s.semanticHits),
        misses: BigInt(s.misses),
        bypasses: BigInt(s.bypasses),
        hitRatio: s.hitRatio,
        savedMicrosUsd: BigInt(s.savedMicrosUsd),
        entries: BigInt(s.entries),
        bytes: BigInt(s.bytes),
        sinceTime: timestampFromMs(s.since),
      };
    },
    async purgeCache(req, ctx) {
      const orgId = await orgOf(ctx, req.parent, "PurgeCache");
      if (orgId !== undefined) return { purged: BigInt(await purgeOrg(orgId, req.route, req.keyPrefix)) };
      if (req.route === "" && req.keyPrefix === "") return { purged: BigInt(await purge({ all: true })) };
      let purged = 0;
      for (const id of await allOrgIds()) purged += await purgeOrg(id, req.route, req.keyPrefix);
      return { purged: BigInt(purged) };
    },
  };
}
