import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";

/**
 * Who is calling: the virtual key an RPC authenticated with and everything it may do. The auth
 * interceptor puts it in the `kPrincipal` context value; later layers (services, the model
 * pipeline's budgets and route checks, the audit log) read it from there and nowhere else.
 */
export interface Principal {
  /** Internal id of the key's org: the tenant boundary. */
  orgId: string;
  /** Internal id of the key's team. */
  teamId: string;
  /** Internal id of the key. */
  keyId: string;
  /** The key's resource name, `orgs/{org}/teams/{team}/keys/{key}`, for logs and audit records. */
  keyName: string;
  /** What the key may do. */
  scopes: ReadonlySet<Scope>;
  /** Route aliases the key may use; empty: every route of its org. */
  allowedRoutes: readonly string[];
  /** Models the key may reach; empty: any its routes reach. */
  allowedModels: readonly string[];
  /** Tags added to every request made with the key, for cost attribution. */
  tags: Readonly<Record<string, string>>;
  /**
   * When the key expires (ms since the epoch); null: never. Part of what it holds: it may grant
   * or keep no key that outlives it.
   */
  expiresAt: number | null;
}

/** Whether `principal` holds `scope`. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope);
}

/** Whether `principal` may act across every org (`SCOPE_PLATFORM_ADMIN`). */
export function isPlatformAdmin(principal: Principal): boolean {
  return principal.scopes.has(Scope.PLATFORM_ADMIN);
}
