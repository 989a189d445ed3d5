import type { DescFile, DescService } from "@bufbuild/protobuf";
import { file_grpc_health_v1_health } from "../gen/ts/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { AuditService, file_switchboard_v1_audit_service } from "../gen/ts/switchboard/v1/audit_service_pb.js";
import { BudgetService, file_switchboard_v1_budget_service } from "../gen/ts/switchboard/v1/budget_service_pb.js";
import { CacheService, file_switchboard_v1_cache_service } from "../gen/ts/switchboard/v1/cache_service_pb.js";
import { CapabilityService, file_switchboard_v1_capability_service } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { CredentialService, file_switchboard_v1_credential_service } from "../gen/ts/switchboard/v1/credential_service_pb.js";
import { file_switchboard_v1_error_details } from "../gen/ts/switchboard/v1/error_details_pb.js";
import { GuardrailService, file_switchboard_v1_guardrail_service } from "../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { KeyService, file_switchboard_v1_key_service } from "../gen/ts/switchboard/v1/key_service_pb.js";
import { PromptService, file_switchboard_v1_prompt_service } from "../gen/ts/switchboard/v1/prompt_service_pb.js";
import { RouteService, file_switchboard_v1_route_service } from "../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService, file_switchboard_v1_tenant_service } from "../gen/ts/switchboard/v1/tenant_service_pb.js";
import { UsageService, file_switchboard_v1_usage_service } from "../gen/ts/switchboard/v1/usage_service_pb.js";

/** Every `switchboard.v1` service: the public surface this server answers. */
export const SWITCHBOARD_SERVICES: readonly DescService[] = [
  CapabilityService,
  TenantService,
  KeyService,
  CredentialService,
  RouteService,
  BudgetService,
  PromptService,
  UsageService,
  AuditService,
  CacheService,
  GuardrailService,
];

/**
 * The files server reflection describes: every `switchboard.v1` service file, the error details
 * (so tools can decode them), and gRPC health and reflection themselves. Imports are reached
 * through these.
 */
export const REFLECTED_FILES: readonly DescFile[] = [
  file_switchboard_v1_capability_service,
  file_switchboard_v1_tenant_service,
  file_switchboard_v1_key_service,
  file_switchboard_v1_credential_service,
  file_switchboard_v1_route_service,
  file_switchboard_v1_budget_service,
  file_switchboard_v1_prompt_service,
  file_switchboard_v1_usage_service,
  file_switchboard_v1_audit_service,
  file_switchboard_v1_cache_service,
  file_switchboard_v1_guardrail_service,
  file_switchboard_v1_error_details,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
];
