import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createValidator } from "@bufbuild/protovalidate";
import { createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Kysely } from "kysely";
import { Health } from "../gen/ts/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { AuditService } from "../gen/ts/switchboard/v1/audit_service_pb.js";
import { CacheService } from "../gen/ts/switchboard/v1/cache_service_pb.js";
import { GuardrailService } from "../gen/ts/switchboard/v1/guardrail_service_pb.js";
import { CapabilityService } from "../gen/ts/switchboard/v1/capability_service_pb.js";
import { CredentialService } from "../gen/ts/switchboard/v1/credential_service_pb.js";
import { KeyService } from "../gen/ts/switchboard/v1/key_service_pb.js";
import { PromptService } from "../gen/ts/switchboard/v1/prompt_service_pb.js";
import { RouteService } from "../gen/ts/switchboard/v1/route_service_pb.js";
import { TenantService } from "../gen/ts/switchboard/v1/tenant_service_pb.js";
import { createAuditInterceptor } from "./audit/audit-interceptor.js";
import { createAuditLog, type AuditLog } from "./audit/audit-log.js";
import { checkpointSigningKey } from "./audit/checkpoint.js";
import { createAuthenticator, type AuthenticatorOptions } from "./auth/authenticator.js";
import { clientAddressOf, createClientAddressResolver } from "./auth/client-address.js";
import { createCacheLayer } from "./cache/cache-layer.js";
import { createGuardrailLayer } from "./guardrails/guardrail-layer.js";
import type { GuardrailAnalyzer } from "./guardrails/analyzer.js";
import { systemClock, type Clock } from "./clock.js";
import { ACCEPT_COMPRESSION, type CallOptions } from "./http/connect-call.js";
import { createConnectH1 } from "./http/connect-h1.js";
import { createGrpcH2 } from "./http/grpc-h2.js";
import { createEgress } from "./http/egress-connect.js";
import { createEgressPolicy, type EgressPolicyOptions } from "./http/egress-policy.js";
import { deadlineInTimerRange } from "./http/connect-node-deadline.js";
import { wrapRouterHandlers } from "./http/connect-node-handlers.js";
import { answerUnknownProcedure } from "./http/unknown-procedure.js";
import { BINARY_OPTIONS, createMethodTable } from "./http/method-table.js";
import { requestValueBudget } from "./http/connect-node-value-budget.js";
import { CONNECT_NODE_READ_MAX_BYTES } from "./http/value-budget.js";
import { createAuthInterceptor } from "./interceptors/auth.js";
import { kClient, kPeer } from "./interceptors/context-keys.js";
import { createErrorsInterceptor } from "./interceptors/errors.js";
import { createTelemetryInterceptor } from "./interceptors/telemetry.js";
import { createStorableStringsInterceptor } from "./interceptors/storable-strings.js";
import { createValidateInterceptor } from "./interceptors/validate.js";
import type { ModelLayer } from "./model-layer.js";
import type { Logger } from "./observability/logger.js";
import { createRouteLister } from "./openai/models.js";
import { createOpenAIHandler, openAIRouteOf } from "./openai/openai-handler.js";
import { createCacheStage } from "./pipeline/cache-stage.js";
import { createGuardrailInputStage } from "./pipeline/guardrail-stage.js";
import { createGuardrailOutputStage } from "./pipeline/guardrail-stage-output.js";
import { createDispatchPipeline } from "./pipeline/dispatch-pipeline.js";
import { createCacheLookahead } from "./pipeline/cache-lookahead.js";
import { composeStages, type CallMeta, type ModelPipeline, type Stage } from "./pipeline/model-call.js";
import type { TokenUsage } from "./providers/model.js";
import { installUtf8Encoding } from "./runtime/utf8-encoding.js";
import { REFLECTED_FILES, SWITCHBOARD_SERVICES } from "./schema.js";
import { createHealthService, createHealthStatus, type HealthStatus } from "./services/health.js";
import { createCacheService } from "./services/cache-service.js";
import { createGuardrailService } from "./services/guardrail-service.js";
import { createAuditService } from "./services/audit-service.js";
import { createCapabilityService } from "./services/capability/capability-service.js";
import { routeCapabilities } from "./services/capability/route-capabilities.js";
import { createCredentialService } from "./services/credential-service.js";
import { createKeyService } from "./services/key-service.js";
import { createPromptService } from "./services/prompt-service.js";
import { createReflectionService } from "./services/reflection.js";
import { createRouteService } from "./services/route-service.js";
import { createTenantService } from "./services/tenant-service.js";
import { createKeyStore } from "./store/key-store.js";
import type { Database } from "./store/schema.js";
import { createMemoryState } from "./store/state/memory-state.js";
import type { StateBackend } from "./store/state/state-backend.js";
import type { StateBreakerStatus } from "./store/state/breaker-state.js";
import { createTenantStore } from "./store/tenant-store.js";
import { createCredentialAlarmStage } from "./vault/credential-alarm-stage.js";
import type { Vault } from "./vault/vault.js";
import { createBudgetReservations } from "./limits/budget-reservation.js";
import { createBudgetSeeder } from "./limits/budget-seeder.js";
import { createBudgetAlerts, type BudgetAlertsOptions } from "./limits/budget-alerts.js";
import { createWebhookPost } from "./limits/budget-alert-webhook.js";
import { createReservationRecovery } from "./limits/reservation-recovery.js";
import { createReplicaLease, type ReplicaLeaseOptions } from "./limits/replica-lease.js";
import { createHoldSweeper, type HoldSweeperOptions } from "./limits/hold-sweeper.js";
import { BUILTIN_PRICE_TABLE } from "./limits/builtin-prices.js";
import type { MoneyLayer } from "./limits/money-layer.js";
import { createPriceBook, type PriceBook } from "./limits/price-table.js";
import { createRateLimiter } from "./limits/rate-limiter.js";
import { createBudgetStage, type BudgetStageOptions } from "./pipeline/budget-stage.js";
import { createSplitRateLimitStages } from "./pipeline/rate-limit-stage.js";
import { answeringScopeOf } from "./pipeline/cache-plan.js";
import { createHitRateGuess } from "./cache/hit-rate-guess.js";
import { createOverloadStage, type OverloadStageOptions } from "./pipeline/overload-stage.js";
import { createOutputCapStage, type OutputCapStageOptions } from "./pipeline/output-cap-stage.js";
import { createUsageStage } from "./pipeline/usage-stage.js";
import { createCacheHitUsageStage } from "./pipeline/cache-hit-usage-stage.js";
import { BudgetService } from "../gen/ts/switchboard/v1/budget_service_pb.js";
import { UsageService } from "../gen/ts/switchboard/v1/usage_service_pb.js";
import { createBudgetService } from "./services/budget-service.js";
import { createUsageService } from "./services/usage-service.js";
import { createAttemptSpans } from "./observability/attempt-spans.js";
import { databaseProbe, providersProbe, stateProbe } from "./observability/dependency-probes.js";
import { createObservabilityEndpoints } from "./observability/http-endpoints.js";
import { traceHttp } from "./observability/http-span.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { createMetricsSink } from "./observability/metrics-sink.js";
import { createObserveStage, type CallSink } from "./observability/observe-stage.js";
import { createReadiness, type Readiness, type ReadinessOptions } from "./observability/readiness.js";
import { createRequestLogSink, type RequestLogPolicy } from "./observability/request-log-sink.js";
import type { RequestLogWriter } from "./observability/request-log-writer.js";
import { addServerGauges } from "./observability/server-gauges.js";
import { traceState } from "./observability/traced-state.js";
import { disabledTracing, type Tracing } from "./observability/tracing.js";
import { pingDatabase } from "./store/ping.js";
import { createVerbIdempotencyInterceptor, withIdempotentReplay, type VerbIdempotencyOptions } from "./interceptors/verb-idempotency.js";
import { createVerbIdempotencyStore } from "./store/verb-idempotency-store.js";

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
  /**
   * Shared fast-path state (Redis with `REDIS_URL`, in-process otherwise): the response cache
   * lives here. Default: a private in-process backend (single replica).
   */
  state?: StateBackend;
  /** The circuit breaker around `state` (`createBreakerState`, with Redis), for its `/metrics` gauges. */
  stateBreaker?: StateBreakerStatus;
  /** Prices for budget reservations and ledger records' price versions (default: the built-in table). */
  prices?: PriceBook;
  /** The ledger writer, its stores and the budget / rate-limit definitions (`createMoneyLayer`). */
  money: MoneyLayer;
  /** The credential vault (`createVault`): CredentialService writes through it, dispatch reads through it. */
  vault: Vault;
  /** Traces (`createTracing`); default none: no tracer, no cost. */
  tracing?: Tracing;
  /** The request log: its writer (started by the caller) and which routes it keeps how much of; default none. */
  requestLog?: { writer: RequestLogWriter; policy: RequestLogPolicy };
  /** The guardrails' in-process rule engine; default the built-in detectors (tests inject failing ones). */
  guardrailAnalyzer?: GuardrailAnalyzer;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** Largest request message accepted, in bytes. */
  maxRequestBytes: number;
  /** How long a stream's write may wait for its caller to read before the stream is ended (default 30 s; `server.writeStallTimeoutMs`). */
  writeStallTimeoutMs?: number;
  /** Key cache and lookup behaviour (`cacheTtlMs` is `auth.cacheTtlMs`); defaults documented there. */
  auth?: AuthenticatorOptions;
  /**
   * IPs and CIDRs of the reverse proxies whose `X-Forwarded-For` names the client
   * (`server.trustedProxies`; default none: the socket's peer is the client). See `auth/client-address.ts`.
   */
  trustedProxies?: readonly string[];
  /** Budget reservations: the output cap reserved when none is set, and what an unpriced model gets. */
  money?: Pick<BudgetStageOptions, "defaultMaxOutputTokens" | "unpricedModels">;
  /** Soft-threshold alerts of budgets: the gateway-wide webhook and its delivery policy. */
  budgetAlerts?: BudgetAlertsOptions;
  /**
   * Where admin-set URLs (alert webhooks, external guardrails, credentials' `base_url`) may be
   * called (`egress.*`; default: private allowed). Calls to a `base_url` go through the model
   * layer's clients: give `createModelLayer` the same policy (`egress`).
   */
  egress?: EgressPolicyOptions;
  /** Dependency probing for readiness (interval, timeout, hysteresis); defaults documented there. */
  readiness?: ReadinessOptions;
  /** Overload shedding: the in-flight caps per replica and per key, and the retry delay given (P23). */
  overload?: OverloadStageOptions;
  /** The largest max output tokens a call may ask for (P23); larger asks are clamped. */
  consumption?: OutputCapStageOptions;
  /** Idempotency keys of the verbs: the claim lease a running call renews (`idempotency.leaseMs`; default 30 s). */
  idempotency?: Pick<VerbIdempotencyOptions, "leaseMs">;
  /** Budget-hold recovery timing: this replica's lease TTL and refresh, and the sweep interval (`budgets.hold*`). */
  budgetHolds?: { lease?: Pick<ReplicaLeaseOptions, "ttlMs" | "refreshMs">; sweep?: Pick<HoldSweeperOptions, "intervalMs"> };
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
  /** The audit log: `drain()` it on shutdown so background appends are written. */
  audit: AuditLog;
  /** This server's Prometheus registry (served at `/metrics`). */
  metrics: Metrics;
  /** Dependency verdicts (`/readyz`, `switchboard.readiness.*` health); `stop()` it on shutdown. */
  readiness: Readiness;
  /** This replica's lease and the sweeper of dead replicas' budget holds: `stop()` them after draining. */
  budgetHolds: { stop(): Promise<void> };
  /** The response cache: `close()` it after draining, so buffered cache statistics are written. */
  cache: { close(): Promise<void> };
  /** The guardrail policies' poll: `close()` it after draining, before the database. */
  guardrails: { close(): void };
}

/**
 * Composes the gateway. This is the one place that orders the RPC interceptors (and, as later
 * issues land, the model pipeline): reading this function tells what every request goes through.
 */
export function createServer(deps: ServerDeps, opts: ServerOptions): Server {
  // protobuf-es's strings through Buffer rather than TextEncoder (process-wide; same bytes).
  installUtf8Encoding();
  const clock = deps.clock ?? systemClock;
  const keys = createKeyStore(deps.db);
  // One authenticator per replica: its key cache is what bounds revocation (see cacheTtlMs).
  const authenticator = createAuthenticator({ keys, pepper: deps.pepper, clock, logger: deps.logger }, opts.auth);
  const audit = createAuditLog({ db: deps.db, logger: deps.logger, clock });
  // One metrics registry per server instance; traces only when main.ts (or a test) made a tracer.
  const metrics = createMetrics();
  const tracing = deps.tracing ?? disabledTracing();
  // The schema's rules, compiled once: the validate interceptor checks requests with them, and
  // the Update RPCs the resource an update leaves (their request's resource is not checked).
  const validator = createValidator();
  const interceptors: Interceptor[] = [
    // 1. Outermost: anything that is not a ConnectError leaves as Internal, its cause logged.
    createErrorsInterceptor(deps),
    // 2. Request id and exactly one access-log line per RPC (at stream end for streams).
    //    Also the RPC's span (continuing the caller's traceparent) and its RPC metrics.
    createTelemetryInterceptor({ logger: deps.logger, metrics, tracing }),
    // 2b. Audit: outside auth, so it records every authentication failure of any guarded method,
    //     and every call (success, denial, failure) of a method whose scope is *_WRITE or
    //     PLATFORM_ADMIN, with the before/after its handler noted (`noteAudit`).
    createAuditInterceptor({ audit }, { guarded: SWITCHBOARD_SERVICES }),
    // 3. Virtual key → Principal (kPrincipal) and the method's required_scope; switchboard.v1
    //    only (health and reflection stay public). Before validation, so an unauthenticated
    //    caller gets Unauthenticated, not a lesson in the schema's rules.
    createAuthInterceptor({ authenticator }, { guarded: SWITCHBOARD_SERVICES }),
    // 4. protovalidate rules from the schema: InvalidArgument naming each offending field.
    createValidateInterceptor({ files: REFLECTED_FILES, validator }),
    // 4b. The admin services store what they are given: a string Postgres cannot hold (a NUL, an
    //     unpaired surrogate) is InvalidArgument naming its field, not the store's refusal later.
    createStorableStringsInterceptor({ services: SWITCHBOARD_SERVICES.filter((s) => s !== CapabilityService) }),
    // 5. Idempotency keys of the verbs (RequestOptions.idempotency_key), per org: a repeat gets
    //    the stored first result with no second provider call. Innermost, so only authenticated,
    //    valid requests claim a key.
    createVerbIdempotencyInterceptor({ store: createVerbIdempotencyStore(deps.db), logger: deps.logger }, { services: [CapabilityService], ...opts.idempotency }),
  ];
  // The model pipeline, outermost stage first, composed once for every verb and front door.
  // Stages land with their issues: rate limit → guardrails in → cache → guardrails out → budget
  // reserve, each wrapping the rest, all in front of dispatch.
  const state = traceState(deps.state ?? createMemoryState(), tracing);
  const prices = deps.prices ?? createPriceBook({ builtin: BUILTIN_PRICE_TABLE });
  const cacheLayer = createCacheLayer({ state, logger: deps.logger });
  // Every call of an admin-set URL (budget alert webhooks, external guardrails) connects through
  // these clients: the egress policy judges each address dialled (http/egress-policy.ts).
  const egress = createEgress(createEgressPolicy(opts.egress));
  const guardrails = createGuardrailLayer({ db: deps.db, logger: deps.logger, egress });
  // Budget holds are journaled under this replica's lease; holds of replicas whose lease lapsed
  // (kill -9, OOM) are given back by every replica's sweeper within lease TTL + one interval.
  const lease = createReplicaLease({ state, logger: deps.logger }, opts.budgetHolds?.lease);
  const sweeper = createHoldSweeper({ state, lease, tenants: () => deps.money.catalog.budgetTenants(), logger: deps.logger }, opts.budgetHolds?.sweep);
  void lease.start().then(() => sweeper.start());
  const budgetHolds = {
    async stop() {
      // Settles still running after their answers left (the budget stage queues them) land first.
      await budgetStage.drain();
      await sweeper.stop();
      await lease.stop();
    },
  };
  const budgetReservations = createBudgetReservations({ state, clock, owner: lease.id });
  const sinks: CallSink[] = [createMetricsSink({ metrics, routes: deps.models.resolver, cost: deps.cost })];
  if (deps.requestLog) sinks.push(createRequestLogSink(deps.requestLog.writer, deps.requestLog.policy));
  const budgetStage = createBudgetStage(
    {
      reservations: budgetReservations,
      catalog: deps.money.catalog,
      routes: deps.models.resolver,
      prices,
      // Counters start from the ledger's spend (a new budget, a new period, Redis data lost).
      seeder: createBudgetSeeder({
        state,
        clock,
        ledgerSpent: async (tenant, budget, period) => {
          const target = deps.money.catalog.targetOf(budget.id);
          if (target === undefined) return 0n;
          return deps.money.usage.spent({ orgId: tenant, level: target.level, targetId: target.targetId, start: period.start, ...(period.end ? { end: period.end } : {}) });
        },
      }),
      // Soft thresholds (50/80/100 % by default): once per budget, period and threshold
      // across replicas, a warn line and the webhook; in the background.
      alerts: createBudgetAlerts(
        { state, reservations: budgetReservations, settingsOf: (id) => deps.money.catalog.alertsOf(id), logger: deps.logger, clock, post: createWebhookPost(egress.dispatcher) },
        opts.budgetAlerts,
      ),
      // Holds whose reserve or settle timed out are given back in the background (P7).
      recovery: createReservationRecovery({ state, reservations: budgetReservations, logger: deps.logger }),
      logger: deps.logger,
      clock,
    },
    opts.money ?? {},
  );
  const cacheLookahead = createCacheLookahead({ cache: cacheLayer.cache, routes: deps.models.resolver });
  const answeringScope = (meta: CallMeta) => answeringScopeOf({ routes: deps.models.resolver }, meta);
  // A cacheable call on a route that mostly misses starts its tokens check and reservation with
  // the cache read too (one round trip before a miss is sent), and gives both back on a hit.
  const hitRates = createHitRateGuess();
  /** Whether the cache cannot answer the call, probably will not (its route mostly misses), or probably will. */
  const cacheOutlook = (meta: CallMeta): "cannot" | "likely_miss" | "likely_hit" => {
    const scope = answeringScope(meta);
    if (scope === undefined) return "cannot";
    return hitRates.likelyMiss(scope.orgId, scope.route) ? "likely_miss" : "likely_hit";
  };
  const rateLimits = createSplitRateLimitStages(
    { limiter: createRateLimiter({ state }), catalog: deps.money.catalog, routes: deps.models.resolver, logger: deps.logger },
    { mayAnswerBetween: (meta) => answeringScope(meta) !== undefined, ...(opts.money?.defaultMaxOutputTokens === undefined ? {} : { defaultMaxOutputTokens: opts.money.defaultMaxOutputTokens }) },
  );
  const guardrailsOut = createGuardrailOutputStage({ policies: guardrails.resolver, external: guardrails.external, logger: deps.logger, analyzer: deps.guardrailAnalyzer });
  const stages: Stage[] = [
    // Observability: outermost, so it sees every call of both front doors once, refusals
    // included: the call's span (parent of its state and provider-attempt spans), the model-call
    // metrics, and the request log of routes that keep one. Observes only.
    // Answers are captured (for the request log) up to its body limit at least: a capture cut
    // shorter than the sink's limit would cut a personal value in two before it is redacted.
    createObserveStage({ tracing, sinks }, { maxCaptureChars: Math.max(64 * 1024, deps.requestLog?.policy.maxBodyBytes ?? 0) }),
    // Overload shedding (P23): a call beyond the replica's or its key's in-flight cap is refused
    // at once (ResourceExhausted + retry delay), never queued; the slot is held until the call or
    // stream ends. Before rate limits, so a shed call costs no shared-state round trip.
    createOverloadStage({ metrics }, opts.overload),
    // Output cap (P23): a call asking for more output tokens than the maximum is clamped to it,
    // before rate limits count and budgets reserve its output.
    createOutputCapStage(opts.consumption),
    // The exact-cache lookup of a cacheable call, started here so it shares the round trip of the
    // requests-per-minute check; the cache stage takes it (cache-lookahead.ts).
    cacheLookahead.stage,
    // The budget's reservation of a call the cache cannot answer, or probably will not, started
    // here so it too shares that round trip (the budget stage takes it; given back if the call is
    // refused or answered from the cache on the way); and so the tokens check of a call the cache
    // probably will not answer (a hit's tokens are given back: a hit uses no provider capacity).
    budgetStage.early((meta) => cacheOutlook(meta) !== "likely_hit"),
    rateLimits.tokens.early((meta) => cacheOutlook(meta) === "likely_miss"),
    // Rate limits, requests per minute (per org, team, key, tag; global across replicas through
    // `state`): the first stage that acts, so a caller over its limit costs nothing further. A
    // cache hit is still a request. Only calls with a caller. Tokens per minute are counted inside
    // the cache, or here already for a call the cache cannot answer (createSplitRateLimitStages).
    rateLimits.requests,
    // Guardrails in: redact or block the user content of every call before it is cached or sent
    // (and restore placeholders in the answer on the way back). Inside rate limits, so a caller
    // over its limit is refused before any inspection.
    createGuardrailInputStage({ policies: guardrails.resolver, external: guardrails.external, logger: deps.logger, analyzer: deps.guardrailAnalyzer }),
    // Cache-hit ledger rows: just outside the cache, the one place that sees hits; a hit gets
    // one row (attempt 0, cost 0). Misses pass through to the usage stage inside.
    createCacheHitUsageStage({ ledger: deps.money.ledger, logger: deps.logger, clock }),
    // Cache (exact, then semantic): after guardrails in, so keys and entries hold redacted text;
    // outside guardrails out (a blocked answer is an error here, never stored) and outside the
    // budget stage (a hit costs 0; what was held for it ahead is given back). Hits answer without going further.
    // A hit passes the output guardrails too (`screen`): the key does not hold the caller's policies.
    createCacheStage({ ...cacheLayer, routes: deps.models.resolver, lookahead: cacheLookahead, hitRates, screen: guardrailsOut, onError: (operation, err) => deps.logger.warn({ operation, err }, "cache stage") }),
    // Rate limits, tokens per minute: inside the cache, so a hit (no provider capacity used) neither
    // counts nor is refused (a call the cache cannot answer was counted with its requests, above).
    // The stages inside start while the check is in flight (the budget's reservation shares its
    // round trip); dispatch waits for the check, and a reservation of a refused call is given back.
    rateLimits.tokens,
    // Guardrails out: check answers (streams through a sliding window that can stop them
    // mid-way). Inside the cache, so a blocked answer is never stored; outside the budget, so
    // the blocked answer is still settled and billed.
    guardrailsOut,
    // Budgets: reserve the worst case on every level at once before dispatch, settle the actual
    // cost after (streams at their end, extending as they run when nothing caps their output).
    budgetStage,
    // Credential alarm: observes only; logs every attempt a provider refused with 401/403 (or
    // whose credential could not be read) with the credential's name, never its value.
    createCredentialAlarmStage({ logger: deps.logger, routes: deps.models.resolver }),
    // Usage ledger: innermost, just outside dispatch; one durable record per attempt, failed
    // ones and cut streams included, before the call returns. Sheds paid calls when the
    // ledger's buffer is full rather than drop records.
    createUsageStage({
      ledger: deps.money.ledger,
      cost: deps.cost,
      priceVersion: (provider, model, at) => prices.priceAt(provider, model, at)?.version ?? "unpriced",
      logger: deps.logger,
      clock,
    }),
  ];
  const observeAttempts = createAttemptSpans(tracing);
  const pipeline: ModelPipeline = composeStages(
    stages,
    createDispatchPipeline({
      dispatcher: deps.models.dispatcher,
      routes: deps.models.resolver,
      cost: deps.cost,
      // A span per provider attempt, its traceparent sent to the provider (tracing on only).
      ...(observeAttempts === undefined ? {} : { observeAttempts }),
    }),
  );
  const tenants = createTenantStore(deps.db);
  const health = createHealthStatus({ services: SWITCHBOARD_SERVICES.map((s) => s.typeName) });
  // Readiness: Postgres, the state backend and the providers' breakers, with hysteresis, as the
  // health statuses of switchboard.readiness.* and /readyz.
  const readiness = createReadiness(
    {
      health,
      probes: [
        databaseProbe(() => pingDatabase(deps.db)),
        stateProbe(state),
        providersProbe({ routes: deps.models.resolver, breakers: deps.models.breakers }),
      ],
    },
    opts.readiness,
  );
  readiness.start();
  void readiness.probeNow();
  addServerGauges(metrics, {
    breakers: deps.models.breakers,
    retryThrottle: deps.models.retryThrottle,
    usageBufferDepth: () => deps.money.ledger.pending(),
    readiness,
    guardrails: guardrails.resolver,
    ...(deps.requestLog ? { requestLog: deps.requestLog.writer } : {}),
    ...(deps.stateBreaker ? { stateBreaker: deps.stateBreaker } : {}),
  });
  const observability = createObservabilityEndpoints({ metrics, readiness, onError: (err) => deps.logger.warn({ err }, "metrics render failed") });
  const routes = (router: ConnectRouter) => {
    router.service(Health, createHealthService({ status: health }));
    router.service(ServerReflection, createReflectionService(REFLECTED_FILES));
    router.service(TenantService, createTenantService({ tenants, clock, validator }));
    router.service(KeyService, createKeyService({ keys, pepper: deps.pepper, clock, authenticator, validator }));
    router.service(RouteService, createRouteService({ routes: deps.models.routeStore, tenants, catalog: deps.models.catalog, validator }));
    router.service(CacheService, createCacheService({ cache: cacheLayer.cache, stats: cacheLayer.stats, tenants, routes: deps.models.routeStore }));
    router.service(GuardrailService, createGuardrailService({ policies: guardrails.store, tenants, keys, egress: egress.policy, refresh: () => guardrails.resolver.refresh(), validator }));
    router.service(
      PromptService,
      createPromptService({
        prompts: deps.models.prompts.store,
        tenants,
        keys,
        routes: deps.models.routeStore,
        // A write is rendered at once on this replica; the others see it within their poll.
        refresh: () => deps.models.prompts.catalog.refresh(),
        validator,
      }),
    );
    router.service(
      CapabilityService,
      // A repeat of an idempotent call is answered from its stored result (interceptor 5).
      withIdempotentReplay(CapabilityService, createCapabilityService({
        pipeline,
        capabilities: (alias, orgId) => {
          const route = deps.models.resolver.resolve(alias, orgId);
          // JSON Schema support, and the smallest declared context window (Summarize's chunking).
          // And the targets' models, which a key's allowed_models is checked against.
          return route === undefined
            ? undefined
            : { ...routeCapabilities(route, (kind) => deps.models.registry.declaration(kind)?.capabilities), targetModels: route.targets.map((t) => t.model) };
        },
        defaults: { route: "default", embedRoute: "embed", timeoutMs: 120_000 },
        templates: deps.models.prompts.resolver,
      })),
    );
    // Services whose issues have not landed answer Unimplemented for every method.
    router.service(
      CredentialService,
      createCredentialService({ vault: deps.vault, tenants, catalog: deps.models.catalog, clock, validator, egress: egress.policy }),
    );
    router.service(AuditService, createAuditService({ audit, tenants, logger: deps.logger, checkpointKey: checkpointSigningKey(deps.pepper) }));
    router.service(
      BudgetService,
      createBudgetService({
        limits: deps.money.limits,
        usage: deps.money.usage,
        tenants,
        keys,
        reservations: budgetReservations,
        // A write applies at once on this replica; the others see it within budgets.pollMs.
        catalog: deps.money.catalog,
        egress: egress.policy,
        clock,
        validator,
      }),
    );
    router.service(UsageService, createUsageService({ usage: deps.money.usage, tenants, keys }));
    const implemented = new Set(
      [TenantService, KeyService, RouteService, PromptService, CapabilityService, CacheService, GuardrailService, CredentialService, AuditService, BudgetService, UsageService].map((s) => s.typeName),
    );
    for (const service of SWITCHBOARD_SERVICES) if (!implemented.has(service.typeName)) router.service(service, {});
  };
  // How long a stream's write may wait for its caller (both front doors' streams).
  const writeStall = opts.writeStallTimeoutMs === undefined ? {} : { writeStallMs: opts.writeStallTimeoutMs };
  // The OpenAI-compatible front door: the same authenticator and the same model pipeline as the
  // verbs, called directly (no in-process Connect hop), with OpenAI's wire format and errors.
  const openai = createOpenAIHandler(
    {
      authenticator,
      pipeline,
      routeModels: (alias, orgId) => deps.models.resolver.resolve(alias, orgId)?.targets.map((t) => t.model),
      listRoutes: createRouteLister(deps.models.routeStore),
      templates: deps.models.prompts.resolver,
      logger: deps.logger,
      // Authentication failures and access denials go to the same audit log as the RPCs'.
      audit,
      metrics,
    },
    { maxRequestBytes: opts.maxRequestBytes, defaultTimeoutMs: 120_000, ...writeStall },
  );
  // Where each request came from (the socket's peer, or the client a trusted proxy forwarded),
  // found as it arrives — while its socket still knows its peer — for both front doors: the
  // unknown-key throttle counts by it and the audit log records it.
  const resolveClient = createClientAddressResolver(opts.trustedProxies ?? []);
  const contextValues = (req: IncomingMessage | Http2ServerRequest) => {
    const client = clientAddressOf(req);
    return createContextValues().set(kClient, client).set(kPeer, client.address);
  };
  // Connect unary and server-streaming calls over HTTP/1.1 (the verbs' usual path) and gRPC ones
  // over HTTP/2 (gRPC clients') skip connect-node's universal request plumbing; every other
  // request goes through connect-node (server/http/connect-h1.ts, server/http/grpc-h2.ts). Both
  // serve what is registered on the router, recorded once into one table.
  // One set of interceptors, limits and context values for connect-node and the direct paths
  // (connect-node's read limit lowered below).
  const shared = { interceptors, readMaxBytes: opts.maxRequestBytes, contextValues };
  const direct: CallOptions = {
    ...shared,
    ...writeStall,
    onUnexpected: (err, procedure) => deps.logger.error({ err, procedure }, "connect call failed after its response was due"),
  };
  const methods = createMethodTable(opts.maxRequestBytes);
  const connectH1 = createConnectH1(direct, methods);
  const grpcH2 = createGrpcH2(direct, methods);
  // connect-node holds a message's bytes more times than the direct paths before it is parsed, so
  // its messages are held to gRPC's own receive limit (server/http/value-budget.ts).
  const connectNodeLimits = { readMaxBytes: Math.min(opts.maxRequestBytes, CONNECT_NODE_READ_MAX_BYTES), acceptCompression: ACCEPT_COMPRESSION };
  const adapter = connectNodeAdapter({
    ...shared,
    ...connectNodeLimits,
    binaryOptions: BINARY_OPTIONS,
    routes: (router) => {
      routes(methods.record(router));
      // Each request to its handlers goes first through, in order:
      wrapRouterHandlers(
        router,
        // its deadline lowered into a Node timer's range, so it is armed as the direct paths arm
        // it (server/http/connect-node-deadline.ts);
        deadlineInTimerRange,
        // its messages' values counted before the handler parses them, as the direct paths'
        // serializations do (server/http/connect-node-value-budget.ts).
        requestValueBudget(connectNodeLimits),
      );
    },
    fallback: (req, res) => {
      // The OpenAI-compatible surface shares the port: every path under /v1/ is its (Anthropic's
      // Messages API, /v1/messages, included).
      if (req.url?.startsWith("/v1/")) return traceHttp(tracing, req, res, () => openai(req, res), openAIRouteOf);
      // /metrics (Prometheus), /healthz (liveness) and /readyz (readiness) share it too.
      if (observability(req, res)) return;
      // An RPC to a procedure not served: Unimplemented, as connect-node answers it.
      if (answerUnknownProcedure(req, res)) return;
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "not_found", message: "no such route" }));
    },
  });
  const handler: RequestHandler = (req, res) => {
    resolveClient(req);
    if ("stream" in req ? grpcH2.serve(req, res as Http2ServerResponse) : connectH1.serve(req, res as ServerResponse)) return;
    adapter(req, res);
  };
  return { handler, health, audit, metrics, readiness, budgetHolds, cache: { close: cacheLayer.close }, guardrails: { close: () => guardrails.resolver.close() } };
}
