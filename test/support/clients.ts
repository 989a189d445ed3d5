import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuditService } from "../../gen/ts/switchboard/v1/audit_service_pb.js";
import { BudgetService } from "../../gen/ts/switchboard/v1/budget_service_pb.js";
import { CacheService } from "../../gen/ts/switchboard/v1/cache_service_pb.js";
import { CapabilityService } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { CredentialService } from "../../gen/ts/switchboard/v1/credential_service_pb.js";
import { GuardrailService } from "../../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { KeyService } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { PromptService } from "../../gen/ts/switchboard/v1/prompt_service_pb.js";
import { RouteService } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService } from "../../gen/ts/switchboard/v1/tenant_service_pb.js";
import { UsageService } from "../../gen/ts/switchboard/v1/usage_service_pb.js";

/** gRPC clients of a gateway that send `secret` as the bearer key on every call. */
export interface KeyedClients {
  tenants: Client<typeof TenantService>;
  keys: Client<typeof KeyService>;
  capability: Client<typeof CapabilityService>;
  routes: Client<typeof RouteService>;
  credentials: Client<typeof CredentialService>;
  audit: Client<typeof AuditService>;
  budgets: Client<typeof BudgetService>;
  prompts: Client<typeof PromptService>;
  usage: Client<typeof UsageService>;
  cache: Client<typeof CacheService>;
  guardrails: Client<typeof GuardrailService>;
  /**
   * Whether the key authenticates and holds SCOPE_INVOKE: "ok" when a verb call gets past auth
   * (answered by the sandbox route, or refused later by a missing route), else the code name.
   */
  probe(): Promise<string>;
}

/** A gRPC (h2c) transport to the gateway at `url` that sends `secret` as the bearer key on every call. */
export function keyedTransport(url: string, secret: string): Transport {
  const withKey: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${secret}`);
    return next(req);
  };
  return createGrpcTransport({ baseUrl: url, interceptors: [withKey] });
}

/** Creates {@link KeyedClients} for the gateway at `url` (gRPC over h2c). */
export function clientsFor(url: string, secret: string): KeyedClients {
  const transport = keyedTransport(url, secret);
  const capability = createClient(CapabilityService, transport);
  return {
    tenants: createClient(TenantService, transport),
    keys: createClient(KeyService, transport),
    capability,
    routes: createClient(RouteService, transport),
    credentials: createClient(CredentialService, transport),
    audit: createClient(AuditService, transport),
    budgets: createClient(BudgetService, transport),
    prompts: createClient(PromptService, transport),
    usage: createClient(UsageService, transport),
    cache: createClient(CacheService, transport),
    guardrails: createClient(GuardrailService, transport),
    probe: () =>
      capability.summarize({ text: "ping" }).then(
        () => "ok",
        (err: unknown) => {
          const code = ConnectError.from(err).code;
          return code === Code.NotFound ? "ok" : Code[code];
        },
      ),
  };
}

/** The code name a call failed with, or "ok". */
export async function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "ok",
    (err: unknown) => Code[ConnectError.from(err).code],
  );
}
