import type { JsonValue } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { parseSecret } from "../auth/key-format.js";
import type { Principal } from "../auth/principal.js";
import { bearerToken } from "../interceptors/auth.js";
import { codeName } from "../interceptors/telemetry.js";
import type { AuditRecord } from "./audit-log.js";
import { orgNameOf } from "./resource-of.js";

/** Who acted, as an audit record says it: empty strings and a null org when unauthenticated. */
export function actorOf(principal: Principal | undefined): Pick<AuditRecord, "actor" | "actorOrg" | "actorOrgId"> {
  const orgName = principal === undefined ? undefined : orgNameOf(principal.keyName);
  return {
    actor: principal?.keyName ?? "",
    actorOrg: orgName === undefined ? "" : `orgs/${orgName}`,
    actorOrgId: principal?.orgId ?? null,
  };
}

/** What a front door knows about a call it refused or that failed. */
export interface RefusedCall {
  /** What was attempted: an RPC's full name, or `METHOD /path` on the OpenAI surface. */
  action: string;
  /** The resource named by the request, when known; may be empty. */
  resource: string;
  code: Code;
  /** The authenticated caller; undefined when authentication itself failed. */
  principal: Principal | undefined;
  /** The raw `authorization` header; only a well-formed key's display prefix is ever kept. */
  authorization: string | null;
  /** An unauthenticated call's secret matched a key (revoked, expired, rotated out): `refusedAKnownKey`. */
  knownKey?: boolean;
  /** The caller's address as the socket saw it. */
  peer: string;
  requestId: string;
  /** What was refused (already masked and bounded); never kept for an unauthenticated caller. */
  request?: JsonValue | null;
  /** The resource before, when the handler noted it (already masked and bounded). */
  before?: JsonValue | null;
  org: AuditRecord["org"];
}

/**
 * The audit record of a refused or failed call, the same on every front door (Connect and the
 * OpenAI-compatible surface): `denied` for `unauthenticated` and `permission_denied`, else
 * `failure`. An unauthenticated caller's request is not kept, only what identifies the attempt:
 * the presented key's display prefix when the key is well-formed (never more of it), and
 * `matchedKey: true` when the secret matched a key — revoked, expired or rotated out — which the
 * audit log then records however many unauthenticated calls came from the address
 * (`refusal-coalescer.ts`).
 */
export function refusalRecord(call: RefusedCall): AuditRecord {
  const unauthenticated = call.code === Code.Unauthenticated;
  const presented = unauthenticated ? parseSecret(bearerToken(call.authorization) ?? "")?.displayPrefix : undefined;
  return {
    ...actorOf(call.principal),
    action: call.action,
    outcome: unauthenticated || call.code === Code.PermissionDenied ? "denied" : "failure",
    code: codeName(call.code),
    peer: call.peer,
    requestId: call.requestId,
    resource: call.resource,
    before: call.before ?? null,
    after: unauthenticated ? presentedAfter(presented, call.knownKey === true) : (call.request ?? null),
    org: call.org,
  };
}

function presentedAfter(presented: string | undefined, knownKey: boolean): JsonValue {
  if (presented === undefined) return knownKey ? { matchedKey: true } : null;
  return knownKey ? { presentedKey: presented, matchedKey: true } : { presentedKey: presented };
}
