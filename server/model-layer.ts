import type { Kysely } from "kysely";
import { createBreakerRegistry } from "./dispatch/breaker.js";
import { createDispatcher, type Dispatcher } from "./dispatch/dispatcher.js";
import { createRouteResolver, type RouteResolver } from "./dispatch/route-resolver.js";
import type { ProviderCatalog } from "./dispatch/route-spec.js";
import type { Logger } from "./observability/logger.js";
import { createHttpClient } from "./providers/http/http-client.js";
import { createProviderRegistry, PROVIDER_DECLARATIONS, type ProviderRegistry } from "./providers/registry.js";
import { startSandbox } from "./sandbox/sandbox.js";
import { createRouteStore, type RouteStore } from "./store/route-store.js";
import type { Database } from "./store/schema.js";

/** Options of {@link createModelLayer}. */
export interface ModelLayerOptions {
  db: Kysely<Database>;
  logger: Logger;
  /**
   * Provider API keys by credential resource name (`credentials/openai` → key). Until the
   * credential vault lands these come from `SWITCHBOARD_CREDENTIAL_<ID>` environment variables.
   */
  credentials: ReadonlyMap<string, string>;
  /** How often routes are re-read (the bound on how stale a replica's routes are). */
  routePollMs?: number;
  /** Endpoints by provider kind that replace the kinds' defaults (self-hosted servers, test fakes). */
  baseUrls?: Readonly<Record<string, string>>;
}

/** Everything that turns a route alias into provider calls, built once per process. */
export interface ModelLayer {
  registry: ProviderRegistry;
  catalog: ProviderCatalog;
  routeStore: RouteStore;
  resolver: RouteResolver;
  dispatcher: Dispatcher;
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
 * process shares. On a fresh install with no credentials it seeds the sandbox routes, so
 * `npm start` answers verbs at once without spending money.
 */
export async function createModelLayer(opts: ModelLayerOptions): Promise<ModelLayer> {
  const http = createHttpClient();
  const sandbox = await startSandbox();
  const registry = createProviderRegistry({ http, baseUrls: { ...opts.baseUrls, sandbox: sandbox.url } });
  const catalog: ProviderCatalog = {
    kinds: PROVIDER_DECLARATIONS.map((d) => d.kind),
    needsCredential: (kind) => registry.declaration(kind)?.apiKeyRequired ?? true,
  };
  const routeStore = createRouteStore(opts.db);
  if (opts.credentials.size === 0) {
    for (const [alias, spec] of Object.entries(SANDBOX_ROUTES)) {
      if (await routeStore.seed(null, alias, spec)) opts.logger.info({ route: alias }, "seeded sandbox route");
    }
  }
  const resolver = createRouteResolver({
    store: routeStore,
    ...(opts.routePollMs === undefined ? {} : { pollMs: opts.routePollMs }),
    onError: (err) => opts.logger.warn({ err }, "route refresh failed; serving the last routes"),
  });
  await resolver.refresh();
  const dispatcher = createDispatcher({
    provider: (kind) => registry.get(kind),
    credential: async (name) => opts.credentials.get(name),
    breakers: createBreakerRegistry({
      onStateChange: (target, from, to) => opts.logger.warn({ target, from, to }, "circuit breaker changed state"),
    }),
  });
  return {
    registry,
    catalog,
    routeStore,
    resolver,
    dispatcher,
    sandboxUrl: sandbox.url,
    async close() {
      resolver.close();
      await sandbox.close();
      await http.close();
    },
  };
}
