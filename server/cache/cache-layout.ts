/**
 * Where the response cache keeps things in the StateBackend. One prefix per tenant and route, so
 * PurgeCache is a `deleteByPrefix` on the shared backend (and so takes effect on every replica):
 *
 * | key | holds |
 * |---|---|
 * | `cache:{org}:{route}:{sha256 hex}` | one exact entry (`cache-entry.ts`), TTL = the route's |
 * | `cache:{org}:{route}:sem:{verb}:n` | how many semantic entries were ever written in that scope |
 * | `cache:{org}:{route}:sem:{verb}:{slot}` | one semantic entry (vector + exact key), a ring slot |
 * | `cstats:{period}:{org or *}:{route or *}:{field}` | global statistics counters |
 *
 * `{org}` is the org's internal id (no `:`), `{route}` an alias (`[a-z0-9._-]`, no `:`), so a
 * tenant's prefix can never be a prefix of another tenant's. Exact keys are hex and semantic keys
 * start with `sem:` (not hex), so a purge by key prefix touches exact entries only; a semantic
 * entry whose exact entry is gone is a miss.
 */

const ENTRY_ROOT = "cache:";
const STATS_ROOT = "cstats:";

/** Every cached entry of every tenant (platform-wide purge). */
export function allEntriesPrefix(): string {
  return ENTRY_ROOT;
}

/** Every cached entry of one tenant. */
export function tenantPrefix(orgId: string): string {
  return `${ENTRY_ROOT}${orgId}:`;
}

/** Every cached entry of one tenant's route. */
export function routePrefix(orgId: string, route: string): string {
  return `${tenantPrefix(orgId)}${route}:`;
}

/** The exact entries of one tenant's route whose key starts with `hexPrefix`. */
export function keyPrefix(orgId: string, route: string, hexPrefix: string): string {
  return `${routePrefix(orgId, route)}${hexPrefix}`;
}

/** One exact entry. */
export function entryKey(orgId: string, route: string, hash: string): string {
  return `${routePrefix(orgId, route)}${hash}`;
}

/** The semantic ring of one (tenant, route, verb) scope: `…:n` is its counter, `…:{slot}` its entries. */
export function semanticPrefix(orgId: string, route: string, verb: string): string {
  return `${routePrefix(orgId, route)}sem:${verb}:`;
}

/** A statistics counter; `*` stands for "every org" or "every route". */
export function statsKey(period: number, orgId: string | undefined, route: string | undefined, field: string): string {
  return `${STATS_ROOT}${period}:${orgId ?? "*"}:${route ?? "*"}:${field}`;
}
