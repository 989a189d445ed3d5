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

/** What a key can do, and until when: compared when one key creates, changes, rotates or revokes another. */
export interface Grant {
  scopes: Iterable<Scope>;
  allowedRoutes: readonly string[];
  allowedModels: readonly string[];
  /** When the key expires (ms since the epoch); null: never. */
  expiresAt: number | null;
}

/**
 * Throws `PermissionDenied` unless `principal` holds everything in `grant`: each scope (so only a
 * platform admin mints `SCOPE_PLATFORM_ADMIN`); when the caller is limited to some routes or
 * models, a non-empty subset of those; when the caller's key expires, an expiry no later than its
 * own (none counts as never). A key can therefore never create a stronger key, nor take over one
 * by rotating it and receiving its secret; and a temporary one (a contractor's, an incident's)
 * cannot outlive itself by lifting its own expiry or through a successor. Platform admins are
 * bound alike: an admin key with an expiry is exactly such a temporary credential.
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
  if (principal.expiresAt !== null && (grant.expiresAt === null || grant.expiresAt > principal.expiresAt)) {
    throw new ConnectError(
      `${action}: expire_time must be set and no later than the calling key's expire_time (${new Date(principal.expiresAt).toISOString()})`,
      Code.PermissionDenied,
    );
  }
}

/**
 * Throws `PermissionDenied` if a rotation's grace, ending at `graceEndsAt` (ms; null: none),
 * would outlive the caller's key. The previous secret is a credential too: the rotated key's own
 * expiry (covered, so no later than the caller's) stops it for now, but a grace past the caller's
 * would bring it back the moment a stronger admin lifted that expiry.
 */
export function assertGraceCovered(principal: Principal, graceEndsAt: number | null, action: string): void {
  if (principal.expiresAt !== null && graceEndsAt !== null && graceEndsAt > principal.expiresAt) {
    throw new ConnectError(
      `${action}: grace_period must end no later than the calling key's expire_time (${new Date(principal.expiresAt).toISOString()})`,
      Code.PermissionDenied,
    );
  }
}
