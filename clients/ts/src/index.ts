/**
 * `@switchboard-ai/client`: the TypeScript client of the Switchboard AI gateway. One constructor,
 * {@link createSwitchboardClient}, gives typed access to every capability verb and admin service
 * over Connect, gRPC or gRPC-Web; failures are {@link SwitchboardError}s with typed details.
 * The message types are the generated ones (`gen/ts`), re-exported here per service.
 */
export { createSwitchboardClient, type SwitchboardClient, type SwitchboardClientOptions, type SwitchboardProtocol } from "./client.js";
export { SwitchboardError } from "./errors.js";
export { createRetryInterceptor, DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from "./retry.js";
export * from "../../../gen/ts/switchboard/v1/capability_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/chat_pb.js";
export * from "../../../gen/ts/switchboard/v1/common_pb.js";
export * from "../../../gen/ts/switchboard/v1/error_details_pb.js";
export * from "../../../gen/ts/switchboard/v1/options_pb.js";
export * from "../../../gen/ts/switchboard/v1/tenant_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/key_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/credential_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/route_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/budget_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/prompt_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/usage_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/audit_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/cache_service_pb.js";
export * from "../../../gen/ts/switchboard/v1/guardrail_service_pb.js";
export { Code, ConnectError } from "@connectrpc/connect";
