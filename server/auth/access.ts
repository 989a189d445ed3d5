import { Code, ConnectError } from "@connectrpc/connect";
import type { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import type { OrgScope } from "../store/paging.js";
import { isPlatformAdmin, type Principal } from "./principal.js";
import { scopeName } from "./scopes.js";

/**
 * The orgs a caller's admin reads and writes may touch: its own org, or every org for a platform
 * admin. Resources outside it are reported as not found, so their existence is not revealed.
 */
export function orgScopeOf(principal: Principal): OrgScope {
  return isPlatformAdmin(principal) ? { allOrgs: true } : { orgId: principal.orgId };
}

/** Throws `PermissionDenied` unless the caller is a platform admin. */
export function requirePlatformAdmin(principal: Principal, action: string): void {
  if (!isPlatformAdmin(principal)) {
    throw new ConnectError(`${action} requires scope SCOPE_PLATFORM_ADMIN`, Code.PermissionDenied);
  }
}

/** What a key can do: compared when one key creates, changes, rotates or revokes another. */
export interface Grant {
  scopes: Iterable<Scope>;
  allowedRoutes: readonly string[];
  allowedModels: readonly string[];
}

/**
 * Throws `PermissionDenied` unless `principal` holds everything in `grant`: each scope (so only a
 * platform admin mints `SCOPE_PLATFORM_ADMIN`), and — when the caller is limited to some routes
 * or models — a non-empty subset of those. A key can therefore never create a stronger key, nor
 * take over one by rotating it and receiving its secret.
 */
export function assertCovers(principal: Principal, grant: Grant, action: string): void {
  for (const scope of grant.scopes) {
    if (!principal.scopes.has(scope)) {
      throw new ConnectError(`${action}: the calling key does not hold ${scopeName(scope)}`, Code.PermissionDenied);
    }
  }
  const limits = [
    ["allowed_routes", principal.allowedRoutes, grant.allowedRoutes],
    ["allowed_models", principal.allowedModels, grant.allowedModels],
  ] as const;
  for (const [field, mine, theirs] of limits) {
    if (mine.length > 0 && (theirs.length === 0 || theirs.some((item) => !mine.includes(item)))) {
      throw new ConnectError(`${action}: ${field} must be a non-empty subset of the calling key's ${field}`, Code.PermissionDenied);
    }
  }
}
