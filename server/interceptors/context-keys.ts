import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../auth/principal.js";

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
