import type { JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { AuditLog } from "../audit/audit-log.js";
import { refusalRecord } from "../audit/refusal-record.js";
import { refusedAKnownKey } from "../auth/authenticator.js";
import { clientAddressOf } from "../auth/client-address.js";
import type { Principal } from "../auth/principal.js";
import { headerValue } from "./call-meta.js";
import type { HttpRequest } from "./http-io.js";

/** One access refusal of the OpenAI surface. */
export interface AccessRefusal {
  /** `METHOD /path`, as the access log's `procedure` names it. */
  action: string;
  requestId: string;
  /** The authenticated caller; undefined when authentication failed. */
  principal?: Principal;
  /** What was refused, when the request named it (`refusedRoute`: `{ route }`, as on Connect); never user content. */
  request?: JsonValue;
}

/**
 * The `authorization` header, or an Anthropic client's `x-api-key` written as one (the refusal
 * record keeps only a well-formed key's display prefix either way).
 */
function presentedAuthorization(req: HttpRequest): string | null {
  const authorization = headerValue(req.headers, "authorization");
  if (authorization !== undefined) return authorization;
  const key = headerValue(req.headers, "x-api-key");
  return key === undefined ? null : `Bearer ${key}`;
}

/** Records an access refusal if it is one the audit log keeps; a no-op for any other error. */
export type AccessAudit = (req: HttpRequest, refusal: AccessRefusal, err: unknown) => void;

/**
 * The OpenAI surface's half of the audit trail of authentication and authorization: the same
 * event the Connect audit interceptor writes for an RPC (`refusalRecord`), for
 * `unauthenticated` (no, malformed, unknown, expired, revoked or rotated-out key) and for the
 * surface's own `permission_denied` (no `SCOPE_INVOKE`, a route the key may not use). Written in
 * the background (`appendLater`), as every refusal is, so a refused caller never waits on the
 * log. Other failures (and a guardrail's refusal, raised later by the pipeline) are not access
 * decisions and are not recorded here, as on the Connect surface's verbs.
 */
export function createAccessAudit(audit: Pick<AuditLog, "appendLater"> | undefined): AccessAudit {
  return (req, refusal, err) => {
    if (audit === undefined || !(err instanceof ConnectError)) return;
    if (err.code !== Code.Unauthenticated && err.code !== Code.PermissionDenied) return;
    audit.appendLater(
      refusalRecord({
        action: refusal.action,
        resource: "",
        code: err.code,
        principal: refusal.principal,
        authorization: presentedAuthorization(req),
        knownKey: refusedAKnownKey(err),
        peer: clientAddressOf(req).address,
        requestId: refusal.requestId,
        request: refusal.request === undefined ? null : { request: refusal.request },
        org: null,
      }),
    );
  };
}
