import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Kysely } from "kysely";
import { Health } from "../gen/ts/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { CapabilityService } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { KeyService } from "../gen/ts/switchboard/v1/key_service_pb.js";
import { RouteService } from "../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService } from "../gen/ts/switchboard/v1/tenant_service_pb.js";
import { createAuthenticator, type AuthenticatorOptions } from "./auth/authenticator.js";
import { systemClock, type Clock } from "./clock.js";
import { createAuthInterceptor } from "./interceptors/auth.js";
import { createErrorsInterceptor } from "./interceptors/errors.js";
import { createTelemetryInterceptor } from "./interceptors/telemetry.js";
import { createValidateInterceptor } from "./interceptors/validate.js";
import type { ModelLayer } from "./model-layer.js";
import type { Logger } from "./observability/logger.js";
import { createDispatchPipeline } from "./pipeline/dispatch-pipeline.js";
import { composeStages, type ModelPipeline, type Stage } from "./pipeline/model-call.js";
import type { TokenUsage } from "./providers/model.js";
import { REFLECTED_FILES, SWITCHBOARD_SERVICES } from "./schema.js";
import { createHealthService, createHealthStatus, type HealthStatus } from "./services/health.js";
import { createCapabilityService } from "./services/capability/capability-service.js";
import { createKeyService } from "./services/key-service.js";
import { createReflectionService } from "./services/reflection.js";
import { createRouteService } from "./services/route-service.js";
import { createTenantService } from "./services/tenant-service.js";
import { createKeyStore } from "./store/key-store.js";
import type { Database } from "./store/schema.js";
import { createTenantStore } from "./store/tenant-store.js";

/** What the server is built from. `main.ts` builds these; tests build their own. */
export interface ServerDeps {
  logger: Logger;
  /** The authoritative store, migrated (tenancy: orgs, teams, keys). */
  db: Kysely<Database>;
  /** HMAC key of stored key secrets (`auth.pepper`, or the embedded default's generated one). */
  pepper: string;
  /** Source of "now" for expiry, rotation grace and cache freshness; default the wall clock. */
  clock?: Clock;
  /** Providers, routes and dispatch (`createModelLayer`). */
  models: ModelLayer;
  /** The cost of one attempt in micro-USD (the price book). */
  cost: (provider: string, model: string, usage: TokenUsage) => bigint;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Largest request message accepted, in bytes. */
  maxRequestBytes: number;
  /** Key cache and lookup behaviour (`cacheTtlMs` is `auth.cacheTtlMs`); defaults documented there. */
  auth?: AuthenticatorOptions;
}

/** A Node request handler for both HTTP/1.1 and HTTP/2 requests. */
export type RequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

/** The composed gateway: one handler for every protocol and the health status it reports. */
export interface Server {
  handler: RequestHandler;
  health: HealthStatus;
}

/**
 * Composes the gateway. This is the one place that orders the RPC interceptors (and, as later
 * issues land, the model pipeline): reading this function tells what every request goes through.
 */
export function createServer(deps: ServerDeps, opts: ServerOptions): Server {
  const clock = deps.clock ?? systemClock;
  const keys = createKeyStore(deps.db);
  // One authenticator per replica: its key cache is what bounds revocation (see cacheTtlMs).
  const authenticator = createAuthenticator({ keys, pepper: deps.pepper, clock, logger: deps.logger }, opts.auth);
  const interceptors: Interceptor[] = [
    // 1. Outermost: anything that is not a ConnectError leaves as Internal, its cause logged.
    createErrorsInterceptor(deps),
    // 2. Request id and exactly one access-log line per RPC (at stream end for streams).
    createTelemetryInterceptor(deps),
    // 3. Virtual key → Principal (kPrincipal) and the method's required_scope; switchboard.v1
    //    only (health and reflection stay public). Before validation, so an unauthenticated
    //    caller gets Unauthenticated, not a lesson in the schema's rules.
    createAuthInterceptor({ authenticator }, { guarded: SWITCHBOARD_SERVICES }),
    // 4. protovalidate rules from the schema: InvalidArgument naming each offending field.
    createValidateInterceptor({ files: REFLECTED_FILES }),
  ];
  // The model pipeline, outermost stage first, composed once for every verb and front door.
  // Stages land with their issues: rate limit → guardrails in → cache → budget reserve, each
  // wrapping the rest, all in front of dispatch.
  const stages: Stage[] = [];
  const pipeline: ModelPipeline = composeStages(
    stages,
    createDispatchPipeline({ dispatcher: deps.models.dispatcher, routes: deps.models.resolver, cost: deps.cost }),
  );
  const tenants = createTenantStore(deps.db);
  const health = createHealthStatus({ services: SWITCHBOARD_SERVICES.map((s) => s.typeName) });
  const routes = (router: ConnectRouter) => {
    router.service(Health, createHealthService({ status: health }));
    router.service(ServerReflection, createReflectionService(REFLECTED_FILES));
    router.service(TenantService, createTenantService({ tenants, clock }));
    router.service(KeyService, createKeyService({ keys, pepper: deps.pepper, clock, authenticator }));
    router.service(RouteService, createRouteService({ routes: deps.models.routeStore, tenants, catalog: deps.models.catalog }));
    router.service(
      CapabilityService,
      createCapabilityService({
        pipeline,
        capabilities: (alias, orgId) => {
          const route = deps.models.resolver.resolve(alias, orgId);
          if (route === undefined) return undefined;
          const jsonSchema = route.targets.every((t) => deps.models.registry.declaration(t.provider)?.capabilities.jsonSchema === true);
          return { jsonSchema };
        },
        defaults: { route: "default", embedRoute: "embed", timeoutMs: 120_000 },
      }),
    );
    // Services whose issues have not landed answer Unimplemented for every method.
    const implemented = new Set([TenantService, KeyService, RouteService, CapabilityService].map((s) => s.typeName));
    for (const service of SWITCHBOARD_SERVICES) if (!implemented.has(service.typeName)) router.service(service, {});
  };
  const handler = connectNodeAdapter({
    routes,
    interceptors,
    readMaxBytes: opts.maxRequestBytes,
    fallback: (_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "not_found", message: "no such route" }));
    },
  });
  return { handler, health };
}
