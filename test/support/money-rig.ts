/**
 * The set-up the money integration tests share: a fresh Postgres database, the OpenAI fake, and
 * either three gateway replicas ({@link startMoneyReplicas}) or one gateway ({@link startMoneyGateway})
 * billing that fake at known prices; plus the capped / rate-limited / free key trio of the Redis
 * outage tests and a Redis reached through a fault proxy.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import { redisKeySpace, type RedisKeySpace } from "../../server/limits/redis-key-space.testing.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway, type TestGatewayOptions } from "./gateway.js";
import { createAppKey, moneyClients, startReplicas, type MoneyClients, type Replicas } from "./money.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";
import { requireEnv } from "./require-env.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/** The credential name the fake's routes use. */
export const FAKE_CREDENTIAL = "credentials/openai";

/** A route target on the OpenAI fake: `model` (default `gpt-test`) with the fake's credential. */
export function fakeTarget(model = "gpt-test", priority?: number) {
  return { provider: "openai", model, credential: FAKE_CREDENTIAL, ...(priority === undefined ? {} : { priority }) };
}

/** Gateway options that send the `openai` provider to `fake` and price it (default {@link TEST_PRICES}). */
export function fakeProviderOptions(fake: FakeProvider, prices: NonNullable<TestGatewayOptions["prices"]> = TEST_PRICES): TestGatewayOptions {
  return { baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([[FAKE_CREDENTIAL, "sk-test"]]), prices };
}

/** Options of {@link startMoneyReplicas} and {@link startMoneyGateway}: extra gateway options (prices default to {@link TEST_PRICES}). */
export type MoneyRigOptions = Omit<TestGatewayOptions, "databaseUrl" | "baseUrls" | "credentials">;

/** Replicas in front of the fake on a fresh database. */
export interface MoneyReplicas {
  database: TestDatabase;
  fake: FakeProvider;
  replicas: Replicas;
  /** Platform-admin clients of the first replica. */
  admin: MoneyClients;
  /** Clients of every replica sending `secret` as the bearer key. */
  clients(secret: string): MoneyClients[];
  /** Stops the replicas and the fake and drops the database. */
  close(): Promise<void>;
}

/** Starts a fresh database, the OpenAI fake and `count` (default 3) replicas billing it. */
export async function startMoneyReplicas(opts: MoneyRigOptions = {}, count = 3): Promise<MoneyReplicas> {
  const database = await createTestDatabase();
  const fake = await startOpenAIFake();
  const replicas = await startReplicas(database.url, { ...opts, ...fakeProviderOptions(fake, opts.prices) }, count);
  return {
    database,
    fake,
    replicas,
    admin: replicas.admins[0]!,
    clients: (secret) => replicas.gateways.map((gw) => moneyClients(gw.url, secret)),
    async close() {
      await replicas.close();
      await fake.close();
      await database.drop();
    },
  };
}

/** One gateway in front of the fake on a fresh database. */
export interface MoneyGateway {
  database: TestDatabase;
  fake: FakeProvider;
  gw: TestGateway;
  /** Platform-admin clients. */
  admin: MoneyClients;
  /** Reloads routes and budget / rate-limit definitions. */
  refresh(): Promise<void>;
  /** Stops the gateway and the fake and drops the database. */
  close(): Promise<void>;
}

/** Starts a fresh database, the OpenAI fake and one gateway billing it. */
export async function startMoneyGateway(opts: MoneyRigOptions = {}): Promise<MoneyGateway> {
  const database = await createTestDatabase();
  const fake = await startOpenAIFake();
  const gw = await startTestGateway({ ...opts, databaseUrl: database.url, ...fakeProviderOptions(fake, opts.prices) });
  return {
    database,
    fake,
    gw,
    admin: moneyClients(gw.url, gw.adminKey),
    async refresh() {
      await gw.models.resolver.refresh();
      await gw.money.catalog.refresh();
    },
    async close() {
      await gw.close();
      await fake.close();
      await database.drop();
    },
  };
}

/** Route `paid` to the fake and an app key of org `acme` on `rig`: the key's name and its clients. */
export async function createPaidApp(rig: MoneyGateway): Promise<{ appKey: string; app: MoneyClients }> {
  await rig.admin.routes.createRoute({ routeId: "paid", route: { targets: [fakeTarget()] } });
  await rig.gw.models.resolver.refresh();
  const key = await createAppKey(rig.admin, "acme");
  return { appKey: key.name, app: moneyClients(rig.gw.url, key.secret) };
}

/** Clients of three keys in org `acme`: under a total budget, under a rate limit only, under no limit. */
export interface KeysByLimit {
  capped: MoneyClients;
  limited: MoneyClients;
  free: MoneyClients;
}

/**
 * Creates the keys of {@link KeysByLimit} on `rig` — `capped` under a total budget of `capMicros`,
 * `limited` under 100 000 RPM — and refreshes the gateway so the limits apply.
 */
export async function createKeysByLimit(rig: MoneyGateway, capMicros: bigint): Promise<KeysByLimit> {
  const { admin, gw } = rig;
  const capped = await createAppKey(admin, "acme", "capped");
  const limited = await createAppKey(admin, "acme", "limited");
  const free = await createAppKey(admin, "acme", "free");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "cap", budget: { target: capped.name, limitMicrosUsd: capMicros, period: BudgetPeriod.TOTAL } });
  await admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "rpm", rateLimit: { target: limited.name, requestsPerMinute: 100_000n } });
  await rig.refresh();
  return { capped: moneyClients(gw.url, capped.secret), limited: moneyClients(gw.url, limited.secret), free: moneyClients(gw.url, free.secret) };
}

/** The test Redis behind a fault proxy, with a fresh key space. */
export interface ProxiedRedis {
  proxy: TcpProxy;
  /** `REDIS_URL` rewritten to go through the proxy. */
  url: string;
  /** The key space (prefix `sbtest:<label>:<random>:`), read and cleared directly, not through the proxy. */
  keys: RedisKeySpace;
  /** Closes the proxy, clears the key space and closes the direct connection. */
  close(): Promise<void>;
}

/** Starts a proxy in front of `REDIS_URL` and picks a fresh key space named after `label`. */
export async function startProxiedRedis(label: string): Promise<ProxiedRedis> {
  const redisUrl = requireEnv("REDIS_URL");
  const target = new URL(redisUrl);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  const direct = new Redis(redisUrl);
  const keys = redisKeySpace(direct, `sbtest:${label}:${randomBytes(6).toString("hex")}:`);
  return {
    proxy,
    url: proxy.rewrite(redisUrl),
    keys,
    async close() {
      await proxy.close();
      await keys.clear();
      await direct.quit();
    },
  };
}

/** One gateway on its own PGlite in front of the fake, with one paid route and an app key (see {@link startPaidRouteGateway}). */
export interface PaidRouteGateway {
  fake: FakeProvider;
  gw: TestGateway;
  /** The secret of org `acme`'s app key. */
  secret: string;
  /** Stops the gateway, then the fake. */
  close(): Promise<void>;
}

/**
 * Starts the OpenAI fake and a gateway billing it (PGlite; `opts` as for {@link startMoneyGateway}),
 * with the route `routeId` to the fake's `gpt-test` (one attempt) and an app key of org `acme`.
 */
export async function startPaidRouteGateway(routeId: string, opts: MoneyRigOptions = {}): Promise<PaidRouteGateway> {
  const fake = await startOpenAIFake();
  let gw: TestGateway | undefined;
  const close = async () => {
    await gw?.close();
    await fake.close();
  };
  try {
    gw = await startTestGateway({ ...opts, ...fakeProviderOptions(fake, opts.prices) });
    const admin = moneyClients(gw.url, gw.adminKey);
    await admin.routes.createRoute({ routeId, route: { targets: [fakeTarget()], retry: { maxAttempts: 1 } } });
    await gw.models.resolver.refresh();
    const secret = (await createAppKey(admin, "acme")).secret;
    return { fake, gw, secret, close };
  } catch (err) {
    await close();
    throw err;
  }
}
