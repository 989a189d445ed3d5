import type { Kysely } from "kysely";
import type { Route } from "../gen/ts/switchboard/v1/route_service_pb.js";
import { createAuditLog } from "./audit/audit-log.js";
import { createBreakerRegistry, type BreakerRegistry } from "./dispatch/breaker.js";
import { createRetryThrottle, type RetryThrottle } from "./dispatch/retry-throttle.js";
import { createDispatcher, type Dispatcher } from "./dispatch/dispatcher.js";
import { createRouteResolver, type RouteResolver } from "./dispatch/route-resolver.js";
import { seedConfigRoutes } from "./dispatch/route-seeder.js";
import type { ProviderCatalog } from "./dispatch/route-spec.js";
import { defaultEgress, type Egress } from "./http/egress-connect.js";
import type { Logger } from "./observability/logger.js";
import { createHttpClient } from "./providers/http/http-client.js";
import { createProviderRegistry, PROVIDER_DECLARATIONS, type ProviderRegistry } from "./providers/registry.js";
import { startSandbox } from "./sandbox/sandbox.js";
import { createCredentialStore } from "./store/credential-store.js";
import { createPromptStore, type PromptStore } from "./store/prompt-store.js";
import { createRouteStore, type RouteStore } from "./store/route-store.js";
import type { Database } from "./store/schema.js";
import type { ResolvedCredential } from "./vault/credential-resolver.js";
import { VaultError } from "./vault/envelope.js";
import { createTemplateCatalog, type TemplateCatalog } from "./verbs/templates/template-catalog.js";
import { createTemplateResolver, type TemplateResolver } from "./verbs/templates/template-resolver.js";

/** Options of {@link createModelLayer}. */
export interface ModelLayerOptions {
  db: Kysely<Database>;
  logger: Logger;
  /**
   * Provider API keys by credential resource name (`credentials/openai` → key), from
   * `SWITCHBOARD_CREDENTIAL_<ID>` environment variables: the fallback for names the vault lacks.
   */
  credentials: ReadonlyMap<string, string>;
  /**
   * The credential vault's read path (`Vault.resolveCredential`), asked first for every credential
   * name; `undefined` from it (or a failure, when `credentials` has the name) falls back to
   * `credentials`. Unset: only `credentials`.
   */
  vault?: (name: string) => Promise<ResolvedCredential | undefined>;
  /**
   * Where a credential's `base_url` may be called (the egress policy of admin-set URLs, as the
   * server's; default: `defaultEgress()`). `baseUrls` are the operator's and are not subject to it.
   */
  egress?: Egress;
  /** How often routes are re-read (the bound on how stale a replica's routes are). */
  routePollMs?: number;
  /** How often prompt templates are re-checked (default 1 s): the bound on activation reaching this replica. */
  templatePollMs?: number;
  /** Endpoints by provider kind that replace the kinds' defaults (self-hosted servers, test fakes). */
  baseUrls?: Readonly<Record<string, string>>;
  /** Global routes from the config file (`routes:`), applied at start: created or replaced, audited. */
  routes?: Readonly<Record<string, Route>>;
}

/** Everything that turns a route alias into provider calls, built once per process. */
export interface ModelLayer {
  registry: ProviderRegistry;
  catalog: ProviderCatalog;
  routeStore: RouteStore;
  resolver: RouteResolver;
  dispatcher: Dispatcher;
  /** The dispatcher's circuit breakers, one per target (readiness and `/metrics` read their states). */
  breakers: BreakerRegistry;
  /** The dispatcher's per-target retry throttle (gRPC A6 token buckets; `/metrics` reads them). */
  retryThrottle: RetryThrottle;
  /** Prompt templates: the store, this replica's snapshot of active versions, and the per-call resolver. */
  prompts: { store: PromptStore; catalog: TemplateCatalog; resolver: TemplateResolver };
  /** Loopback URL of the in-process sandbox provider. */
  sandboxUrl: string;
  close(): Promise<void>;
}

/** The routes a fresh embedded install starts with when no provider credential is configured. */
export const SANDBOX_ROUTES: Readonly<Record<string, unknown>> = {
  default: { description: "Sandbox: instant answers, no cost", targets: [{ provider: "sandbox", model: "sandbox-fast" }] },
  fast: { description: "Sandbox: instant answers", targets: [{ provider: "sandbox", model: "sandbox-fast" }] },
  smart: {
    description: "Sandbox: slower, longer answers; falls back to sandbox-fast",
    targets: [
      { provider: "sandbox", model: "sandbox-smart", priority: 0 },
      { provider: "sandbox", model: "sandbox-fast", priority: 1 },
    ],
  },
  flaky: {
    description: "Sandbox: fails 30% of the time, falls back to sandbox-fast (try fallback and retries)",
    targets: [
      { provider: "sandbox", model: "sandbox-flaky", priority: 0 },
      { provider: "sandbox", model: "sandbox-fast", priority: 1 },
    ],
  },
  embed: { description: "Sandbox: 256-dimension embeddings", targets: [{ provider: "sandbox", model: "sandbox-embed" }] },
};

/**
 * Builds the provider registry (with the in-process sandbox's endpoint), the route store and
 * resolver, and one dispatcher whose retry budget and circuit breakers every request of this
 * process shares. With no credential in the environment or the vault it seeds the sandbox routes, so
 * `npm start` answers verbs at once without spending money.
 */
export async function createModelLayer(opts: ModelLayerOptions): Promise<ModelLayer> {
  const http = createHttpClient();
  // Credentials' own endpoints: an org admin sets them and the answer reaches the caller, so they
  // are dialled only where the egress policy allows (README, "Outbound calls").
  const egressHttp = createHttpClient({ egress: opts.egress ?? defaultEgress() });
  const sandbox = await startSandbox();
  const registry = createProviderRegistry({ http, egressHttp, baseUrls: { ...opts.baseUrls, sandbox: sandbox.url } });
  const catalog: ProviderCatalog = {
    kinds: PROVIDER_DECLARATIONS.map((d) => d.kind),
    needsCredential: (kind) => registry.declaration(kind)?.apiKeyRequired ?? true,
    settings: (kind) => registry.declaration(kind)?.settings ?? [],
    params: (kind) => registry.declaration(kind)?.params ?? [],
  };
  const routeStore = createRouteStore(opts.db);
  // Only with no credential anywhere: one in the vault is a real one too, and a sandbox route an
  // admin deleted there must not come back (serving simulated answers) at the next start.
  if (opts.credentials.size === 0 && (await createCredentialStore(opts.db).countByMasterKey()).length === 0) {
    for (const [alias, spec] of Object.entries(SANDBOX_ROUTES)) {
      if (await routeStore.seed(null, alias, spec)) opts.logger.info({ route: alias }, "seeded sandbox route");
    }
  }
  if (opts.routes !== undefined && Object.keys(opts.routes).length > 0) {
    // The config file wins at start: each named route is made to match it (audit actor "config").
    const audit = createAuditLog({ db: opts.db, logger: opts.logger });
    await seedConfigRoutes({ store: routeStore, logger: opts.logger, audit: (record) => audit.append(record) }, opts.routes);
  }
  const resolver = createRouteResolver({
    store: routeStore,
    ...(opts.routePollMs === undefined ? {} : { pollMs: opts.routePollMs }),
    onError: (err) => opts.logger.warn({ err }, "route refresh failed; serving the last routes"),
  });
  await resolver.refresh();
  const promptStore = createPromptStore(opts.db);
  const templates = createTemplateCatalog({
    store: promptStore,
    ...(opts.templatePollMs === undefined ? {} : { pollMs: opts.templatePollMs }),
    onError: (err) => opts.logger.warn({ err }, "prompt template refresh failed; serving the last templates"),
  });
  await templates.refresh();
  const breakers = createBreakerRegistry({
    onStateChange: (target, from, to) => opts.logger.warn({ target, from, to }, "circuit breaker changed state"),
  });
  const retryThrottle = createRetryThrottle();
  const dispatcher = createDispatcher({
    // A kind with no endpoint configured (Azure) still plans: its target's credential may name one.
    provider: (kind) => registry.get(kind) ?? registry.unconfigured(kind),
    endpoint: (kind, settings) => registry.withSettings(kind, settings),
    // The vault first; an environment credential of the same name when the vault has none, or
    // cannot answer (database down and nothing cached: the vault logged why). A row the vault has
    // but cannot decrypt is not "none": the call fails (README), never goes out with another key.
    credential: async (name) => {
      const fromEnv = opts.credentials.get(name);
      if (opts.vault === undefined) return fromEnv;
      try {
        const stored = await opts.vault(name);
        return stored === undefined ? fromEnv : { apiKey: stored.value, settings: stored.settings };
      } catch (err) {
        if (fromEnv !== undefined && !(err instanceof VaultError)) return fromEnv;
        throw err;
      }
    },
    breakers,
    retryThrottle,
  });
  return {
    registry,
    catalog,
    routeStore,
    resolver,
    dispatcher,
    breakers,
    retryThrottle,
    prompts: { store: promptStore, catalog: templates, resolver: createTemplateResolver({ catalog: templates, store: promptStore }) },
    sandboxUrl: sandbox.url,
    async close() {
      resolver.close();
      templates.close();
      await sandbox.close();
      await Promise.all([http.close(), egressHttp.close()]);
    },
  };
}
