import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "../auth/principal.js";
import { kPrincipal } from "../interceptors/context-keys.js";

/**
 * The authenticated caller of a guarded RPC. The auth interceptor always sets it before a
 * handler runs; its absence means a service was mounted without that interceptor, which must
 * fail closed.
 */
export function callerOf(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(kPrincipal);
  if (principal === undefined) throw new ConnectError("request is not authenticated", Code.Unauthenticated);
  return principal;
}
