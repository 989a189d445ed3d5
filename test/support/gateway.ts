import { listen, type Listener } from "../../server/http/listener.js";
import type { AuthenticatorOptions } from "../../server/auth/authenticator.js";
import { bootstrapAdminKey } from "../../server/auth/bootstrap.js";
import { generateSecret } from "../../server/auth/key-format.js";
import type { Clock } from "../../server/clock.js";
import { createModelLayer, type ModelLayer } from "../../server/model-layer.js";
import { createServer, type Server } from "../../server/server.js";
import { createDatabase, type DatabaseHandle } from "../../server/store/database.js";
import { migrateToLatest } from "../../server/store/migrate.js";
import { createLogCapture, type LogCapture } from "./log-capture.js";

/** The pepper test gateways use unless told otherwise (never a production value). */
export const TEST_PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";

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
  /** Endpoints by provider kind (point `openai` at a fake, say). */
  baseUrls?: Record<string, string>;
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
  /** The bootstrap admin secret (every scope) installed in, or offered to, the database. */
  adminKey: string;
  /** `{ authorization: "Bearer <adminKey>" }`, for call options. */
  adminHeaders: Record<string, string>;
  /** Stops listening, then closes the database handle. */
  close(): Promise<void>;
}

/**
 * Starts the composed server (every interceptor, every service) on 127.0.0.1, port 0, migrated
 * and bootstrapped the way `main.ts` does it, on its own PGlite or a shared Postgres.
 */
export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const log = createLogCapture();
  const database = await createDatabase(
    opts.databaseUrl !== undefined
      ? { databaseUrl: opts.databaseUrl, pool: opts.pool ?? 4, onIdleError: (err) => log.logger.warn({ err: err.message }, "database connection lost") }
      : { dataDir: "memory://" },
  );
  const pepper = opts.pepper ?? TEST_PEPPER;
  const adminKey = opts.adminKey ?? generateSecret();
  try {
    await migrateToLatest(database.db);
    if (!opts.noBootstrap) await bootstrapAdminKey({ db: database.db, pepper }, { secret: adminKey });
  } catch (err) {
    await database.close();
    throw err;
  }
  const models = await createModelLayer({
    db: database.db,
    logger: log.logger,
    credentials: opts.credentials ?? new Map(),
    routePollMs: opts.routePollMs ?? 200,
    ...(opts.baseUrls ? { baseUrls: opts.baseUrls } : {}),
  });
  const server = createServer(
    { logger: log.logger, db: database.db, pepper, models, cost: () => 0n, ...(opts.clock ? { clock: opts.clock } : {}) },
    { maxRequestBytes: 4 * 1024 * 1024, ...(opts.auth ? { auth: opts.auth } : {}) },
  );
  const listener = await listen(server.handler, { host: "127.0.0.1", port: 0 });
  return {
    url: listener.url,
    server,
    listener,
    log,
    database,
    models,
    adminKey,
    adminHeaders: { authorization: `Bearer ${adminKey}` },
    async close() {
      await listener.shutdown(0);
      await models.close();
      await database.close();
    },
  };
}
