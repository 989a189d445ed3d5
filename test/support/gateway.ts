import { createEgress } from "../../server/http/egress-connect.js";
import { createEgressPolicy } from "../../server/http/egress-policy.js";
import { listen, type Listener } from "../../server/http/listener.js";
import type { Route } from "../../gen/ts/switchboard/v1/route_service_pb.js";
import type { AuthenticatorOptions } from "../../server/auth/authenticator.js";
import { bootstrapAdminKey } from "../../server/auth/bootstrap.js";
import { generateSecret } from "../../server/auth/key-format.js";
import type { Clock } from "../../server/clock.js";
import type { GuardrailAnalyzer } from "../../server/guardrails/analyzer.js";
import { createModelLayer, type ModelLayer } from "../../server/model-layer.js";
import { createServer, type Server } from "../../server/server.js";
import { createDatabase, type DatabaseHandle } from "../../server/store/database.js";
import { migrateToLatest } from "../../server/store/migrate.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import type { TokenUsage } from "../../server/providers/model.js";
import { createLogCapture, type LogCapture } from "./log-capture.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createAttemptCost } from "../../server/limits/attempt-cost.js";
import { BUILTIN_PRICE_TABLE } from "../../server/limits/builtin-prices.js";
import type { LedgerWriterOptions } from "../../server/limits/ledger-writer.js";
import { createMoneyLayer, type MoneyLayer } from "../../server/limits/money-layer.js";
import { createPriceBook, type PriceTable } from "../../server/limits/price-table.js";
import type { ServerOptions } from "../../server/server.js";
import { createKeyring, masterKey } from "../../server/vault/master-key.js";
import { createVault, type Vault } from "../../server/vault/vault.js";
import type { ReadinessOptions } from "../../server/observability/readiness.js";
import type { RequestLogPolicy } from "../../server/observability/request-log-sink.js";
import { createRequestLogWriter, type RequestLogWriter } from "../../server/observability/request-log-writer.js";
import { createQuerySpans } from "../../server/observability/query-spans.js";
import type { Tracing } from "../../server/observability/tracing.js";
import { createRequestLogStore } from "../../server/store/request-log-store.js";

/** The pepper test gateways use unless told otherwise (never a production value). */
export const TEST_PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";

/** The master key test gateways use unless told otherwise (never a production value): bytes 0…31. */
export const TEST_MASTER_KEY: Buffer = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

/** Options of {@link startTestGateway}; every field optional. */
export interface TestGatewayOptions {
  /** Postgres URL to share with other gateways; unset: a private in-memory PGlite. */
  databaseUrl?: string;
  /** Default {@link TEST_PEPPER}. */
  pepper?: string;
  /**
   * The bootstrap admin secret to install when the database has no key (default: a fresh one).
   * Gateways sharing a database pass the same one, so each knows the admin key whoever made it.
   */
  adminKey?: string;
  /** `server.writeStallTimeoutMs` (default 30 s). */
  writeStallTimeoutMs?: number;
  /** `server.trustedProxies` (default none). */
  trustedProxies?: readonly string[];
  /** Skip the bootstrap (a gateway that must not write at start). */
  noBootstrap?: boolean;
  clock?: Clock;
  /** Auth cache and lookup options (TTL, stale bound, lookup timeout). */
  auth?: AuthenticatorOptions;
  /** Postgres pool size (default 4). */
  pool?: number;
  /** Provider keys by credential name (default none: the sandbox routes are seeded). */
  credentials?: ReadonlyMap<string, string>;
  /** Route poll interval (default 200 ms, so route changes show quickly in tests). */
  routePollMs?: number;
  /** Prompt template poll interval (default 200 ms, so activations show quickly in tests). */
  templatePollMs?: number;
  /** Endpoints by provider kind (point `openai` at a fake, say). */
  baseUrls?: Record<string, string>;
  /** Global routes as a config file's `routes:` section gives them (`parseConfigRoutes`), seeded at start. */
  routes?: Readonly<Record<string, Route>>;
  /** Shared fast-path state (give two gateways one Redis backend to act as replicas); default in-process. */
  state?: StateBackend;
  /** Price of an attempt (default: everything free, unless `prices` is given). */
  cost?: (provider: string, model: string, usage: TokenUsage) => bigint;
  /**
   * Price rows added over the built-in table (an override applies from its `effectiveFrom`):
   * budgets reserve with them and, unless `cost` is given, attempts are billed with them.
   */
  prices?: PriceTable;
  /** The ledger's buffer folder (default: a fresh temporary one, removed at close). */
  ledgerDir?: string;
  /** Ledger writer options (default flush interval 50 ms). */
  ledger?: LedgerWriterOptions;
  /** Budget stage options (default output cap, unpriced models). */
  money?: ServerOptions["money"];
  /** Budget soft-threshold alerts (gateway-wide webhook, delivery timeouts and retries). */
  budgetAlerts?: ServerOptions["budgetAlerts"];
  /** Budget and rate-limit definitions poll interval (default 200 ms). */
  limitsPollMs?: number;
  /** The vault's master keys (default {@link TEST_MASTER_KEY} alone); `previous` during a rotation. */
  masterKeys?: { current: Buffer; previous?: Buffer };
  /** The vault's decrypted-value cache TTL (default 30 s, as in production). */
  credentialCacheTtlMs?: number;
  /** Traces (e.g. `await createTracing({ exporter: new InMemorySpanExporter() })`); default none. */
  tracing?: Tracing;
  /** Keep a request log with this policy (rows flushed every 50 ms); default none. */
  requestLog?: RequestLogPolicy & { retentionDays?: number };
  /** The guardrails' rule engine (default: the built-in detectors); inject a failing one for P22 faults. */
  guardrailAnalyzer?: GuardrailAnalyzer;
  /** Readiness probing (default: every 2 s, fall 3, rise 2). */
  readiness?: ReadinessOptions;
  /** Overload shedding caps and retry delay (default: the production defaults). */
  overload?: ServerOptions["overload"];
  /** The output-token clamp (default: none). */
  consumption?: ServerOptions["consumption"];
  /** Budget-hold lease TTL/refresh and sweep interval (default: the production defaults). */
  budgetHolds?: ServerOptions["budgetHolds"];
  /** The idempotency keys' claim lease (default: the production default). */
  idempotency?: ServerOptions["idempotency"];
  /** `server.maxRequestBytes` (default 4 MiB; production's is 32 MiB). */
  maxRequestBytes?: number;
  /** The egress policy of admin-set URLs (default: the production default, private addresses allowed). */
  egress?: ServerOptions["egress"];
}

/** A gateway listening on a free loopback port, with its log captured. */
export interface TestGateway {
  url: string;
  server: Server;
  listener: Listener;
  log: LogCapture;
  database: DatabaseHandle;
  /** Providers, routes and dispatch (the in-process sandbox included). */
  models: ModelLayer;
  /** The ledger writer, usage and limit stores, and the limits catalog (`money.catalog.refresh()`). */
  money: MoneyLayer;
  /** The credential vault (its keyring, store and cache). */
  vault: Vault;
  /** The bootstrap admin secret (every scope) installed in, or offered to, the database. */
  adminKey: string;
  /** `{ authorization: "Bearer <adminKey>" }`, for call options. */
  adminHeaders: Record<string, string>;
  /** The request log's writer, when `requestLog` was given (`flush()` it before reading rows). */
  requestLog?: RequestLogWriter;
  /** Stops listening, then closes the database handle. */
  close(): Promise<void>;
}

/**
 * Starts the composed server (every interceptor, every service) on 127.0.0.1, port 0, migrated
 * and bootstrapped the way `main.ts` does it, on its own PGlite or a shared Postgres.
 */
export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const log = createLogCapture();
  const querySpans = opts.tracing ? createQuerySpans(opts.tracing) : undefined;
  const database = await createDatabase({
    ...(opts.databaseUrl !== undefined
      ? { databaseUrl: opts.databaseUrl, pool: opts.pool ?? 4, onIdleError: (err: Error) => log.logger.warn({ err: err.message }, "database connection lost") }
      : { dataDir: "memory://" }),
    ...(querySpans === undefined ? {} : { onQuery: querySpans }),
  });
  const pepper = opts.pepper ?? TEST_PEPPER;
  const adminKey = opts.adminKey ?? generateSecret();
  try {
    await migrateToLatest(database.db);
    if (!opts.noBootstrap) await bootstrapAdminKey({ db: database.db, pepper }, { secret: adminKey });
  } catch (err) {
    await database.close();
    throw err;
  }
  const keys = opts.masterKeys ?? { current: TEST_MASTER_KEY };
  const vault = createVault(
    { db: database.db, keyring: createKeyring(masterKey(keys.current), keys.previous && masterKey(keys.previous)), logger: log.logger },
    { ...(opts.credentialCacheTtlMs === undefined ? {} : { cacheTtlMs: opts.credentialCacheTtlMs }) },
  );
  const models = await createModelLayer({
    db: database.db,
    logger: log.logger,
    credentials: opts.credentials ?? new Map(),
    vault: (name) => vault.resolveCredential(name),
    egress: createEgress(createEgressPolicy(opts.egress)),
    routePollMs: opts.routePollMs ?? 200,
    templatePollMs: opts.templatePollMs ?? 200,
    ...(opts.baseUrls ? { baseUrls: opts.baseUrls } : {}),
    ...(opts.routes ? { routes: opts.routes } : {}),
  });
  const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE, ...(opts.prices ? { overrides: opts.prices } : {}) });
  const cost = opts.cost ?? (opts.prices ? createAttemptCost(prices) : () => 0n);
  const ownLedgerDir = opts.ledgerDir === undefined ? await mkdtemp(path.join(tmpdir(), "sb-ledger-")) : undefined;
  const money = await createMoneyLayer({
    db: database.db,
    logger: log.logger,
    ledgerDir: opts.ledgerDir ?? ownLedgerDir!,
    ledger: { flushIntervalMs: 50, ...opts.ledger },
    limitsPollMs: opts.limitsPollMs ?? 200,
  });
  let requestLog: RequestLogWriter | undefined;
  if (opts.requestLog) {
    requestLog = createRequestLogWriter(
      { store: createRequestLogStore(database.db), logger: log.logger },
      { flushIntervalMs: 50, ...(opts.requestLog.retentionDays === undefined ? {} : { retentionDays: opts.requestLog.retentionDays }) },
    );
    await requestLog.start();
  }
  const server = createServer(
    {
      logger: log.logger,
      db: database.db,
      pepper, models, cost, prices, money, vault,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.state ? { state: opts.state } : {}),
      ...(opts.tracing ? { tracing: opts.tracing } : {}),
      ...(opts.guardrailAnalyzer ? { guardrailAnalyzer: opts.guardrailAnalyzer } : {}),
      ...(requestLog && opts.requestLog ? { requestLog: { writer: requestLog, policy: opts.requestLog } } : {}),
    },
    { maxRequestBytes: opts.maxRequestBytes ?? 4 * 1024 * 1024, ...(opts.writeStallTimeoutMs === undefined ? {} : { writeStallTimeoutMs: opts.writeStallTimeoutMs }), ...(opts.auth ? { auth: opts.auth } : {}), ...(opts.trustedProxies ? { trustedProxies: opts.trustedProxies } : {}), ...(opts.money ? { money: opts.money } : {}), ...(opts.budgetAlerts ? { budgetAlerts: opts.budgetAlerts } : {}), ...(opts.readiness ? { readiness: opts.readiness } : {}), ...(opts.overload ? { overload: opts.overload } : {}), ...(opts.consumption ? { consumption: opts.consumption } : {}), ...(opts.budgetHolds ? { budgetHolds: opts.budgetHolds } : {}), ...(opts.idempotency ? { idempotency: opts.idempotency } : {}), ...(opts.egress ? { egress: opts.egress } : {}) },
  );
  const listener = await listen(server.handler, { host: "127.0.0.1", port: 0 });
  return {
    url: listener.url,
    server,
    listener,
    log,
    database,
    models,
    money,
    vault,
    adminKey,
    adminHeaders: { authorization: `Bearer ${adminKey}` },
    ...(requestLog ? { requestLog } : {}),
    async close() {
      await listener.shutdown(0);
      server.readiness.stop();
      await server.budgetHolds.stop();
      await server.cache.close();
      server.guardrails.close();
      await requestLog?.close();
      await server.audit.drain();
      await models.close();
      await money.close();
      await database.close();
      if (ownLedgerDir !== undefined) await rm(ownLedgerDir, { recursive: true, force: true });
    },
  };
}
