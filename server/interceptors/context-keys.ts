import { createContextKey } from "@connectrpc/connect";
import type { AuditNote } from "../audit/audit-context.js";
import type { ClientAddress } from "../auth/client-address.js";
import type { Principal } from "../auth/principal.js";
import type { CallSummary } from "../observability/call-summary.js";

/**
 * The gateway's id for the current RPC, set by the telemetry interceptor from a valid
 * `x-request-id` header or freshly generated. Every log line, usage row and error detail of the
 * request quotes it.
 */
export const kRequestId = createContextKey<string>("", { description: "request id" });

/**
 * The authenticated caller of the current RPC, set by the auth interceptor on every guarded
 * (`switchboard.v1`) method before any handler runs; `undefined` only on public methods (gRPC
 * health and reflection).
 */
export const kPrincipal = createContextKey<Principal | undefined>(undefined, { description: "authenticated principal" });

/**
 * The caller's network address: the socket's peer, or behind a proxy listed in
 * `server.trustedProxies` the `X-Forwarded-For` client it vouches for (never the header of any
 * other peer: a header anyone can set proves nothing); `kClient`'s address. Set for every RPC by
 * the server's adapter; the audit log records it.
 */
export const kPeer = createContextKey<string>("", { description: "peer address" });

/**
 * Where the caller came from, resolved once as its request arrived (`auth/client-address.ts`):
 * the address the unknown-key throttle counts it by, and whether an `X-Forwarded-For` it sent was
 * ignored. Set for every RPC by the server's adapter; unset: unknown (throttled as such).
 */
export const kClient = createContextKey<ClientAddress | undefined>(undefined, { description: "client address" });

/**
 * What a handler tells the audit log about the mutation it made — the resource, its org, and the
 * resource before and after — set with `noteAudit` (`server/audit/audit-context.ts`) and read by
 * the audit interceptor once the call has ended. Unset: the interceptor derives what it can from
 * the request and response.
 */
export const kAuditNote = createContextKey<AuditNote | undefined>(undefined, { description: "audit note" });

/**
 * What a CapabilityService RPC consumed (route, provider, model, tokens, cost, cache status,
 * attempts), set once by the service when the verb has its summed usage — for streams at the
 * terminal event — and read by the telemetry interceptor for the access log, span and metrics.
 * Unset on other services and on RPCs that failed before the verb finished.
 */
export const kCallSummary = createContextKey<CallSummary | undefined>(undefined, { description: "call summary" });
