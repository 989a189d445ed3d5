import { createContextKey } from "@connectrpc/connect";

/**
 * The gateway's id for the current RPC, set by the telemetry interceptor from a valid
 * `x-request-id` header or freshly generated. Every log line, usage row and error detail of the
 * request quotes it.
 */
export const kRequestId = createContextKey<string>("", { description: "request id" });
