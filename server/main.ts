/**
 * Entry point: load and validate configuration, build dependencies, listen, drain on SIGTERM.
 * The only module that reads the environment.
 */
import { checkpointSigningKey } from "./audit/checkpoint.js";
import { createCheckpointExporter } from "./audit/checkpoint-exporter.js";
import { bootstrapAdminKey, BOOTSTRAP_KEY_NAME, type BootstrapResult } from "./auth/bootstrap.js";
import { PepperMissingError, resolveEmbeddedPepper, type ResolvedPepper } from "./auth/pepper.js";
import { ConfigError } from "./config/config-error.js";
import { loadConfig, type Config } from "./config/config.js";
import { baseUrlsFromEnv, credentialsFromEnv } from "./config/provider-env.js";
import { createEgress } from "./http/egress-connect.js";
import { createEgressPolicy } from "./http/egress-policy.js";
import { listen } from "./http/listener.js";
import { createLogger } from "./observability/logger.js";
import { createRequestLogWriter } from "./observability/request-log-writer.js";
import { createQuerySpans } from "./observability/query-spans.js";
import { createTracing } from "./observability/tracing.js";
import { applyHeapGrowth } from "./runtime/heap-growth.js";
import { collectStartupGarbage } from "./runtime/startup-garbage.js";
import { createRequestLogStore } from "./store/request-log-store.js";
import { createAttemptCost } from "./limits/attempt-cost.js";
import { BUILTIN_PRICE_TABLE } from "./limits/builtin-prices.js";
import { createPriceBook } from "./limits/price-table.js";
import { createMoneyLayer } from "./limits/money-layer.js";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { createModelLayer } from "./model-layer.js";
import { createServer } from "./server.js";
import { createBootstrapStore } from "./store/bootstrap-store.js";
import { createDatabase } from "./store/database.js";
import { migrateToLatest, MigrationTimeoutError } from "./store/migrate.js";
import { createMemoryState } from "./store/state/memory-state.js";
import { createBreakerState } from "./store/state/breaker-state.js";
import { createRedisState } from "./store/state/redis-state.js";
import type { StateBackend } from "./store/state/state-backend.js";
import { resolveKeyring } from "./vault/master-key-file.js";
import { createVault } from "./vault/vault.js";

/** How long the steps after the drain (flushes, closing the stores) may take before the process exits anyway. */
const STOP_STEPS_MS = 4_000;

async function main(): Promise<void> {
  // A ConfigError, here or in a refusal further on, is reported by `main`'s one catch (exit 2).
  const config = loadConfig({ file: process.env.SWITCHBOARD_CONFIG || undefined, env: process.env });
  applyHeapGrowth(config.server.heapGrowthPercent);
  // Human-readable lines only on a terminal that asked for them; JSON everywhere else.
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty && process.stdout.isTTY === true, batchMs: config.log.batchMs });
  // Traces: OTLP/HTTP export with OTEL_EXPORTER_OTLP_ENDPOINT; without it, no tracer at all.
  const tracing = await createTracing({
    ...(config.telemetry.otlpEndpoint === undefined ? {} : { otlpEndpoint: config.telemetry.otlpEndpoint }),
    serviceName: config.telemetry.serviceName,
  });

  const querySpans = createQuerySpans(tracing);
  const database = await createDatabase({
    ...(querySpans === undefined ? {} : { onQuery: querySpans }),
    databaseUrl: config.database.url,
    dataDir: config.database.dataDir,
    pool: config.database.poolSize,
    statementTimeoutMs: config.database.statementTimeoutMs,
    sharedBuffersMb: config.database.embeddedSharedBuffersMb,
    optimizedWasm: config.database.embeddedOptimizedWasm,
    onIdleError: (err) => logger.warn({ err: err.message }, "database connection lost; reconnecting on next query"),
  });
  await migrateToLatest(database.db, { timeoutMs: config.database.migrationTimeoutMs });
  // A start refused once the database is open closes it first: the embedded PGlite then keeps what
  // this start wrote (a bootstrap key stored before a vault refusal).
  const closingOnRefusal = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      if (err instanceof ConfigError) await database.close();
      throw err;
    }
  };
  // Tenancy. The pepper is required with DATABASE_URL (the config checks it); the embedded default
  // keeps a generated one beside its data, created after PGlite has initialised the folder — never
  // for a database that already holds keys (they were stored under the pepper that file held).
  let pepper = config.auth.pepper;
  if (pepper === undefined) {
    const resolved = await closingOnRefusal(async () => embeddedPepper(config.database.dataDir, await createBootstrapStore(database.db).holdsAnyKey()));
    pepper = resolved.pepper;
    if (resolved.looseMode) logger.warn({ mode: resolved.looseMode }, "the pepper file is readable by other users; chmod 600 it");
  }
  const bootstrap = await bootstrapAdminKey({ db: database.db, pepper }, { secret: config.auth.bootstrapKey });
  // A generated secret goes to stderr exactly once, never to the log, as soon as it is stored: every
  // later start finds a key and creates none, so a start that failed after this point (its port
  // taken, a vault refusal) must not have kept the only copy for a banner it never printed.
  if (bootstrap.created && bootstrap.secret !== undefined) process.stderr.write(bootstrapSecretLines(bootstrap.secret));
  if (bootstrap.created && bootstrap.recovered !== undefined) {
    logger.warn(
      { key: bootstrap.recovered },
      "no active platform-admin key was left: installed SWITCHBOARD_BOOTSTRAP_KEY as a break-glass admin key (audited); unset it once you are in",
    );
  }
  if (!bootstrap.created && bootstrap.secretInUse) {
    logger.error(
      "no active platform-admin key is left, and SWITCHBOARD_BOOTSTRAP_KEY is a key already stored (revoked, expired or without SCOPE_PLATFORM_ADMIN): " +
        "set it to a freshly generated key and restart to install a break-glass admin key",
    );
  }
  // The credential vault. The master key is required with DATABASE_URL (the config checks it);
  // the embedded default keeps a generated one beside its data, like the pepper. A start where
  // stored credentials are wrapped by a key this replica lacks is refused: they could not be used.
  const { keyring, looseMode: masterKeyMode } = resolveKeyring({ ...config.vault, dataDir: config.database.dataDir });
  if (masterKeyMode) logger.warn({ mode: masterKeyMode }, "the master-key file is readable by other users; chmod 600 it");
  const vault = createVault({ db: database.db, keyring, logger });
  await closingOnRefusal(async () => refuseUnwrappable(await vault.missingMasterKeys(), keyring.ids));
  logger.info({ masterKeyIds: keyring.ids }, "credential vault ready");
  // With Redis, a circuit breaker in front (P7): while Redis fails, calls are refused at once
  // instead of each waiting out the command timeout; callers' degraded modes are unchanged.
  const guarded = config.redis.url
    ? createBreakerState(
        createRedisState({
          url: config.redis.url,
          commandTimeoutMs: config.redis.commandTimeoutMs,
          connectTimeoutMs: config.redis.connectTimeoutMs,
          onWarning: (message, fields) => logger.warn(fields, message),
        }),
        { logger },
        { failureThreshold: config.redis.breakerFailures, coolDownMs: config.redis.breakerCoolDownMs },
      )
    : undefined;
  const state: StateBackend = guarded?.state ?? createMemoryState();

  // Providers, routes and dispatch. Provider keys come from the vault, then from
  // SWITCHBOARD_CREDENTIAL_<ID>; with no credential in either, the sandbox routes are seeded.
  const models = await createModelLayer({
    db: database.db,
    logger,
    credentials: credentialsFromEnv(process.env),
    vault: (name) => vault.resolveCredential(name),
    baseUrls: baseUrlsFromEnv(process.env),
    // A credential's base_url is called under the same policy as the server's other admin-set URLs.
    egress: createEgress(createEgressPolicy(config.egress)),
    // Routes named in the config file are created or replaced at start (the config wins).
    routes: config.routes,
  });
  const prices = createPriceBook({ builtin: BUILTIN_PRICE_TABLE });
  const cost = createAttemptCost(prices, (provider, model) => logger.warn({ provider, model }, "no price for this model; billed at 0"));
  // Money: the ledger's durable write buffer (replays what a crash left) and the budget and
  // rate-limit definitions; budgets and limits count in `state`, global with Redis.
  const money = await createMoneyLayer({
    db: database.db,
    logger,
    // Beside the embedded database by default, so a fresh data folder never replays another's buffer.
    // With ledger.sharedDir: a fresh subfolder per run, and the buffers of dead replicas adopted.
    ledgerDir:
      config.ledger.sharedDir !== undefined
        ? join(config.ledger.sharedDir, `${hostname().replace(/[^\w.-]/g, "_")}-${process.pid}-${Date.now().toString(36)}`)
        : (config.ledger.dir ?? defaultLedgerDir(config.database.dataDir)),
    ...(config.ledger.sharedDir === undefined ? {} : { adoptFrom: config.ledger.sharedDir }),
    ledger: { flushIntervalMs: config.ledger.flushIntervalMs, maxPendingRows: config.ledger.maxPendingRows, fsync: config.ledger.fsync },
    limitsPollMs: config.budgets.pollMs,
  });
  // The request log (off unless requestLog.mode or a route override turns it on): daily
  // partitions made ahead and dropped past requestLog.retentionDays, one replica at a time.
  const logsRequests = config.requestLog.mode !== "off" || Object.values(config.requestLog.routes).some((m) => m !== "off");
  const requestLog = logsRequests
    ? createRequestLogWriter({ store: createRequestLogStore(database.db), logger }, { retentionDays: config.requestLog.retentionDays })
    : undefined;
  await requestLog?.start();
  const server = createServer(
    { logger, db: database.db, pepper, models, cost, state, ...(guarded ? { stateBreaker: guarded.breaker } : {}), prices, money, vault, tracing, ...(requestLog ? { requestLog: { writer: requestLog, policy: config.requestLog } } : {}) },
    {
      maxRequestBytes: config.server.maxRequestBytes,
      writeStallTimeoutMs: config.server.writeStallTimeoutMs,
      auth: { cacheTtlMs: config.auth.cacheTtlMs, unknownKeyBurst: config.auth.unknownKeyBurst, unknownKeysPerMinute: config.auth.unknownKeysPerMinute },
      trustedProxies: config.server.trustedProxies,
      money: { defaultMaxOutputTokens: config.budgets.defaultMaxOutputTokens, unpricedModels: config.budgets.unpricedModels },
      overload: config.overload,
      egress: config.egress,
      consumption: { maxOutputTokens: config.budgets.maxOutputTokens },
      idempotency: { leaseMs: config.idempotency.leaseMs },
      budgetHolds: {
        lease: { ttlMs: config.budgets.holdLeaseTtlMs, refreshMs: config.budgets.holdLeaseRefreshMs },
        sweep: { intervalMs: config.budgets.holdSweepIntervalMs },
      },
      ...(config.budgets.alertWebhookUrl === undefined ? {} : { budgetAlerts: { webhookUrl: config.budgets.alertWebhookUrl } }),
    },
  );
  // The audit chain's head, signed, to the log (and a file / webhook) every interval and at stop.
  const checkpoints = createCheckpointExporter(
    { store: server.audit.store, logger, signingKey: checkpointSigningKey(pepper) },
    {
      intervalMs: config.audit.checkpointIntervalMs,
      ...(config.audit.checkpointFile === undefined ? {} : { file: config.audit.checkpointFile }),
      ...(config.audit.checkpointWebhookUrl === undefined ? {} : { webhookUrl: config.audit.checkpointWebhookUrl }),
    },
  );
  checkpoints.start();
  const listener = await listen(server.handler, { host: config.server.host, port: config.server.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.server.shutdownGraceMs, inFlight: listener.inFlight() }, "draining");
    server.health.shutdown();
    server.readiness.stop();
    await listener.shutdown(config.server.shutdownGraceMs);
    // What follows writes to Postgres, which may hang (a frozen peer: pg has no query timeout):
    // bounded, so the process exits within the grace period + STOP_STEPS_MS (P16). Usage records
    // not yet committed stay in the ledger folder and are replayed at the next start. The embedded
    // PGlite cannot hang on a peer, and cutting its close short could lose what it has not written.
    const steps = (async () => {
      await server.budgetHolds.stop();
      await server.cache.close();
      server.guardrails.close();
      await server.audit.drain();
      await checkpoints.stop();
      await requestLog?.close();
      await tracing.shutdown();
      await models.close();
      await money.close();
      await state.close();
      await database.close();
    })();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      steps.then(() => true),
      ...(database.kind === "postgres" ? [new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_STEPS_MS)))] : []),
    ]);
    clearTimeout(timer);
    if (!finished) {
      logger.error({ waitedMs: STOP_STEPS_MS }, "shutdown did not finish in time (a dependency hangs); exiting: uncommitted usage records stay in the ledger folder for the next start");
      logger.flush();
      process.exit(1);
    }
    logger.info("stopped");
    logger.flush();
    process.exit(0);
  };
  // Before "listening" is logged: the log line is written on another thread, so a supervisor that
  // reads it and signals at once could otherwise find no handler yet (and the default kills).
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // Written before "listening" is logged, so whoever waits for that line finds the banner sent.
  process.stderr.write(banner(listener.url, database.kind, config, bootstrap));
  logger.info(
    { url: listener.url, database: database.kind, state: config.redis.url ? "redis" : "memory", tracing: tracing.enabled, requestLog: config.requestLog.mode },
    "listening",
  );
  if (bootstrap.created && bootstrap.recovered === undefined) logger.info({ key: BOOTSTRAP_KEY_NAME }, "bootstrap admin key created");
  // Supervisors wait for "listening": it leaves now, not with the next batch of lines.
  logger.flush();
  collectStartupGarbage();
}

function banner(url: string, databaseKind: string, config: Config, bootstrap: BootstrapResult): string {
  const storage = databaseKind === "pglite" ? `embedded PGlite in ${config.database.dataDir}` : "Postgres";
  const state = config.redis.url ? "Redis" : "in-process";
  const admin =
    bootstrap.created && bootstrap.secret !== undefined
      ? [`  Bootstrap admin key ${BOOTSTRAP_KEY_NAME} created: its secret is printed above, only once; store it.`, ""]
      : bootstrap.created && bootstrap.recovered !== undefined
        ? [`  No platform-admin key was left: break-glass admin key ${bootstrap.recovered} installed from SWITCHBOARD_BOOTSTRAP_KEY.`, ""]
        : bootstrap.created
          ? [`  Bootstrap admin key ${BOOTSTRAP_KEY_NAME} installed from SWITCHBOARD_BOOTSTRAP_KEY.`, ""]
          : [];
  return [
    "",
    `  Switchboard is listening on ${url} (Connect, gRPC and gRPC-Web on one port)`,
    `  storage: ${storage}; counters and cache: ${state}`,
    "",
    ...admin,
    "  Try it:",
    `    npx buf curl --protocol grpc --http2-prior-knowledge ${url}/grpc.health.v1.Health/Check`,
    `    npx buf curl --protocol grpc --http2-prior-knowledge --list-services ${url}`,
    `    npx buf curl --protocol connect ${url}/grpc.health.v1.Health/Check`,
    `    npx buf curl --protocol connect -H "authorization: Bearer $SWITCHBOARD_KEY" -d '{"parent":"orgs/system/teams/-"}' \\`,
    `      ${url}/switchboard.v1.KeyService/ListKeys`,
    "",
  ].join("\n");
}

main().catch((err: unknown) => {
  // An invalid configuration is the operator's to fix: its issues, no stack, exit 2.
  if (err instanceof ConfigError) {
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(2);
  }
  // A database that kept the migrations waiting past their bound: the message says what and where, a stack would not.
  const shown = err instanceof MigrationTimeoutError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`switchboard: failed to start: ${shown}\n`);
  process.exit(1);
});

/** The embedded default's pepper; a missing pepper file beside a database that holds keys refuses the start. */
function embeddedPepper(dataDir: string, holdsKeys: boolean): ResolvedPepper {
  try {
    return resolveEmbeddedPepper(dataDir, { holdsKeys });
  } catch (err) {
    if (err instanceof PepperMissingError) throw new ConfigError([{ path: "auth.pepper", message: err.message }]);
    throw err;
  }
}

/** Refuses a start where stored credentials are wrapped by master keys this replica lacks: they could not be used. */
function refuseUnwrappable(unwrappable: ReadonlyArray<{ masterKeyId: string; count: number }>, configured: readonly string[]): void {
  if (unwrappable.length === 0) return;
  const which = unwrappable.map((k) => `${k.count} under ${k.masterKeyId}`).join(", ");
  throw new ConfigError([
    {
      path: "vault.masterKey",
      message:
        `stored credentials are wrapped by master keys that are not configured (${which}); ` +
        `this replica holds ${configured.join(" and ")}. Set SWITCHBOARD_MASTER_KEY_PREVIOUS to the key that wrapped them ` +
        "(or restore SWITCHBOARD_MASTER_KEY), start, then call RewrapCredentials",
    },
  ]);
}

/** The generated bootstrap secret, for stderr (see its call in `main`). */
function bootstrapSecretLines(secret: string): string {
  return ["", `  Bootstrap admin key (${BOOTSTRAP_KEY_NAME}, every scope). It is shown only now; store it:`, "", `    export SWITCHBOARD_KEY=${secret}`, ""].join("\n") + "\n";
}

/**
 * The ledger buffer's folder when `ledger.dir` is unset: beside the data folder and named for it —
 * `ledger` for the default `.data/pglite` (so `.data/ledger`), `<folder>-ledger` for any other.
 * Plain `ledger` beside every data folder was one buffer for all the folders of one parent: a crash's
 * records were replayed into whichever database started next there (and lost to their own), and
 * two gateways on two such folders could not run at once.
 */
function defaultLedgerDir(dataDir: string): string {
  const folder = resolve(dataDir);
  const name = basename(folder);
  return join(dirname(folder), name === "pglite" ? "ledger" : `${name}-ledger`);
}
