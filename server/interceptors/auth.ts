import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { AccessDenial, accessDenied } from "../auth/access-denial.js";
import { UNAUTHENTICATED_MESSAGE, type Authenticator } from "../auth/authenticator.js";
import { createMethodScopes } from "../auth/method-scopes.js";
import { scopeName } from "../auth/scopes.js";
import { kClient, kPrincipal } from "./context-keys.js";

/** Dependencies of {@link createAuthInterceptor}. */
export interface AuthInterceptorDeps {
  authenticator: Pick<Authenticator, "authenticate">;
}

/** Options of {@link createAuthInterceptor}. */
export interface AuthInterceptorOptions {
  /** Services whose methods need a key; every other service (health, reflection) is public. */
  guarded: readonly DescService[];
}

/** `Bearer <token>`, case-insensitive scheme, one token. */
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The token of an `authorization: Bearer <token>` header value; `undefined` for anything else. */
export function bearerToken(authorization: string | null): string | undefined {
  return BEARER.exec(authorization ?? "")?.[1];
}

/**
 * Authenticates every call of a guarded service and authorizes it against the method's
 * `(switchboard.v1.required_scope)` option, read from the schema once at start.
 *
 * The key comes from the `authorization: Bearer <key>` header, which is gRPC metadata and a
 * Connect/gRPC-Web header alike. Missing, malformed, unknown, expired, revoked or rotated-out
 * keys get `Unauthenticated` with one message that does not say which; a key without the scope
 * gets `PermissionDenied` naming the scope (an {@link AccessDenial}, audited); a database outage the cache cannot cover gets
 * `Unavailable`; a caller whose address used up its lookups of unknown keys, `ResourceExhausted`
 * with `google.rpc.RetryInfo`. On success the {@link Principal} is stored under `kPrincipal` for
 * everything after. Runs before validation, so an unauthenticated caller learns nothing about the schema's rules.
 */
export function createAuthInterceptor(deps: AuthInterceptorDeps, opts: AuthInterceptorOptions): Interceptor {
  const scopes = createMethodScopes(opts.guarded);
  return (next) => async (req) => {
    const required = scopes.requiredScope(req.method);
    if (required === undefined) return next(req);
    const token = bearerToken(req.header.get("authorization"));
    if (token === undefined) throw new ConnectError(UNAUTHENTICATED_MESSAGE, Code.Unauthenticated);
    // The client's address: the unknown-key throttle counts per client (the authenticator's `unknownKeyBurst`).
    const principal = await deps.authenticator.authenticate(token, req.contextValues.get(kClient));
    // Set before the scope check, so a refused call is still attributed (the audit log reads it).
    req.contextValues.set(kPrincipal, principal);
    if (required === Scope.UNSPECIFIED) {
      throw accessDenied(`${req.service.typeName}/${req.method.name} declares no scope and cannot be called with a key`, new AccessDenial("scope"));
    }
    if (!principal.scopes.has(required)) {
      throw accessDenied(`${req.service.typeName}/${req.method.name} requires scope ${scopeName(required)}`, new AccessDenial("scope"));
    }
    return next(req);
  };
}
