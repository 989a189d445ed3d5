/**
 * The soak's rig (RELIABILITY §5): a fresh Postgres database and a fresh Redis database index,
 * each replica reaching both through its own fault proxy, the provider fakes, three replicas of
 * the real entry point as child processes, and the tenancy the load uses — a route with a
 * fallback, an application key under a large budget, a key under a small budget (P1) and a key
 * under an RPM limit (P5).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { generateSecret } from "../../server/auth/key-format.js";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { requireEnv } from "../support/require-env.js";
import { createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { startTcpProxy, type ProxyMode, type TcpProxy } from "../support/tcp-proxy.js";
import type { KeyRole } from "./history.js";
import { freePort } from "../support/free-port.js";
import { createReplica, type Replica } from "./replica.js";
import { startSoakProviders, type SoakProviders } from "./soak-providers.js";

/** Figures the rig is built with; the checkers compare against them. */
export interface ClusterOptions {
  replicas: number;
  /** The small budget of the `capped` key, micro-USD (P1). */
  capMicros: bigint;
  /** The RPM limit of the `rpm` key (P5). */
  rpmLimit: number;
  /** Attempts per target (the route's retry policy). */
  maxAttempts: number;
  shutdownGraceMs: number;
  /** The per-replica in-flight cap to configure when the gateway has the knob (P23). */
  inFlightCap: number;
}

/** The running rig. */
export interface Cluster {
  runDir: string;
  database: TestDatabase;
  redisUrl: string;
  providers: SoakProviders;
  replicas: Replica[];
  pgProxies: TcpProxy[];
  redisProxies: TcpProxy[];
  admin: MoneyClients;
  secrets: Record<KeyRole, string>;
  budgets: { app: string; capped: string };
  route: string;
  /** Switches every replica's Postgres (or Redis) proxy at once. */
  setPostgres(mode: ProxyMode): Promise<void>;
  setRedis(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

const ROUTE = "soak";

/** Picks an empty Redis database index (1..15) and claims it with a key that expires. */
async function claimRedisDb(baseUrl: string): Promise<string> {
  const admin = new Redis(baseUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  try {
    const claim = `soak-claim:${randomBytes(4).toString("hex")}`;
    for (const db of [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1].sort(() => Math.random() - 0.5)) {
      await admin.select(db);
      if ((await admin.dbsize()) !== 0) continue;
      if ((await admin.set("soak-claim", claim, "PX", 3_600_000, "NX")) !== "OK") continue;
      const u = new URL(baseUrl);
      u.pathname = `/${db}`;
      return u.toString();
    }
    throw new Error("no empty Redis database index (1..15) for the soak");
  } finally {
    admin.disconnect();
  }
}

/** Builds and starts the rig. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const runDir = mkdtempSync(join(tmpdir(), "sb-soak-"));
  const database = await createTestDatabase();
  const redisUrl = await claimRedisDb(requireEnv("REDIS_URL"));
  const providers = await startSoakProviders();
  const pg = new URL(database.url);
  const rd = new URL(redisUrl);
  const bootstrapKey = generateSecret();
  const common: Record<string, string> = {
    SWITCHBOARD_KEY_PEPPER: randomBytes(32).toString("base64"),
    SWITCHBOARD_MASTER_KEY: randomBytes(32).toString("base64"),
    SWITCHBOARD_BOOTSTRAP_KEY: bootstrapKey,
    SWITCHBOARD_LOG_LEVEL: "warn",
    SWITCHBOARD_CREDENTIAL_OPENAI: "sk-soak-openai",
    SWITCHBOARD_CREDENTIAL_ANTHROPIC: "sk-ant-soak",
    SWITCHBOARD_BASE_URL_OPENAI: `${providers.openai.url}/v1`,
    SWITCHBOARD_BASE_URL_ANTHROPIC: providers.anthropic.url,
    // Keys stay valid through the Postgres cut (P8 is not this soak's subject).
    SWITCHBOARD_AUTH_CACHE_TTL_MS: "60000",
    // A loaded 2-core machine: a generous per-command timeout, still far below a request's.
    SWITCHBOARD_REDIS_COMMAND_TIMEOUT_MS: "500",
    SWITCHBOARD_LIMITS_POLL_MS: "500",
    SWITCHBOARD_SHUTDOWN_GRACE_MS: String(opts.shutdownGraceMs),
    SWITCHBOARD_REQUEST_LOG_MODE: "metadata",
    // The per-replica in-flight cap the P23 checker bursts past.
    SWITCHBOARD_MAX_IN_FLIGHT: String(opts.inFlightCap),
  };
  const pgProxies: TcpProxy[] = [];
  const redisProxies: TcpProxy[] = [];
  const replicas: Replica[] = [];
  for (let i = 0; i < opts.replicas; i++) {
    // `closed` resets the open connections (RST), as a killed store's peers often see.
    const pgProxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port) }, { resetOnClose: true });
    const redisProxy = await startTcpProxy({ host: rd.hostname, port: Number(rd.port) }, { resetOnClose: true });
    pgProxies.push(pgProxy);
    redisProxies.push(redisProxy);
    const dir = join(runDir, `replica-${i}`);
    mkdirSync(dir, { recursive: true });
    replicas.push(
      createReplica({
        index: i,
        port: await freePort(),
        logFile: join(runDir, `replica-${i}.log`),
        env: {
          ...common,
          DATABASE_URL: pgProxy.rewrite(database.url),
          REDIS_URL: redisProxy.rewrite(redisUrl),
          SWITCHBOARD_DATA_DIR: join(dir, "data"),
          SWITCHBOARD_LEDGER_DIR: join(dir, "ledger"),
        },
      }),
    );
  }
  // The first start migrates and installs the bootstrap key; the others then start together.
  await replicas[0]!.start();
  await Promise.all(replicas.slice(1).map((r) => r.start()));

  const admin = moneyClients(replicas[0]!.url, bootstrapKey);
  const target = (provider: string, model: string, priority: number) => ({
    provider,
    model,
    credential: `credentials/${provider}`,
    priority,
    firstTokenTimeout: { seconds: 2n },
    idleTimeout: { seconds: 2n },
    attemptTimeout: { seconds: 8n },
  });
  await admin.routes.createRoute({
    routeId: ROUTE,
    route: {
      targets: [target("openai", "gpt-4o-mini", 0), target("anthropic", "claude-haiku-4-5", 1)],
      retry: { maxAttempts: opts.maxAttempts, initialBackoff: { nanos: 50_000_000 }, maxBackoff: { nanos: 200_000_000 } },
    },
  });
  const app = await createAppKey(admin, "soak", "app");
  const capped = await createAppKey(admin, "soak", "capped");
  const rpm = await createAppKey(admin, "soak", "rpm");
  await admin.budgets.createBudget({ parent: "orgs/soak", budgetId: "app", budget: { target: app.name, limitMicrosUsd: 1_000_000_000n, period: BudgetPeriod.TOTAL } });
  await admin.budgets.createBudget({ parent: "orgs/soak", budgetId: "capped", budget: { target: capped.name, limitMicrosUsd: opts.capMicros, period: BudgetPeriod.TOTAL } });
  await admin.budgets.createRateLimit({ parent: "orgs/soak", rateLimitId: "rpm", rateLimit: { target: rpm.name, requestsPerMinute: BigInt(opts.rpmLimit) } });

  const setAll = (proxies: TcpProxy[]) => async (mode: ProxyMode) => void (await Promise.all(proxies.map((p) => p.setMode(mode))));
  return {
    runDir,
    database,
    redisUrl,
    providers,
    replicas,
    pgProxies,
    redisProxies,
    admin,
    secrets: { app: app.secret, capped: capped.secret, rpm: rpm.secret },
    budgets: { app: "orgs/soak/budgets/app", capped: "orgs/soak/budgets/capped" },
    route: ROUTE,
    setPostgres: setAll(pgProxies),
    setRedis: setAll(redisProxies),
    async close() {
      await Promise.all(replicas.map((r) => (r.pid() === undefined ? undefined : r.term(opts.shutdownGraceMs + 5000))));
      await Promise.all([...pgProxies, ...redisProxies].map((p) => p.close()));
      await providers.close();
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      await redis.flushdb().finally(() => redis.disconnect());
      await database.drop();
    },
  };
}
