/**
 * The Redis round trips a model call waits for before it is sent, through the gateway on real
 * Postgres and Redis, with Redis behind a proxy that adds 300 ms each way (one round trip ≥ 600
 * ms, far above everything else a call does here). Decision (README, "Rate limits"): a call the
 * cache cannot answer waits for one — its requests and tokens limits and its budget reservation
 * leave together — and a cacheable call that misses for two (the lookup with the requests check,
 * then the tokens check with the reservation), since reserving ahead of a possible hit would cost
 * every hit a reservation and its release.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { StateBackend } from "../../server/store/state/state-backend.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { fakeProviderOptions, fakeTarget } from "../support/money-rig.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { requireEnv } from "../support/require-env.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const EACH_WAY_MS = 300;
const ROUND_TRIP_MS = 2 * EACH_WAY_MS;

let database: TestDatabase;
let fake: FakeProvider;
let proxy: TcpProxy;
let state: StateBackend;
let gw: TestGateway;
let app: MoneyClients;

beforeAll(async () => {
  const redis = new URL(requireEnv("REDIS_URL"));
  database = await createTestDatabase();
  fake = await startOpenAIFake();
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port) });
  state = createRedisState({ url: proxy.rewrite(redis.toString()), keyPrefix: `sb-trips-${randomBytes(4).toString("hex")}:`, commandTimeoutMs: 10_000, connectTimeoutMs: 5_000 });
  gw = await startTestGateway({ databaseUrl: database.url, state, ...fakeProviderOptions(fake) });
  const admin = moneyClients(gw.url, gw.adminKey);
  const target = fakeTarget();
  await admin.routes.createRoute({ routeId: "plain", route: { targets: [target], retry: { maxAttempts: 1 } } });
  await admin.routes.createRoute({ routeId: "cached", route: { targets: [target], retry: { maxAttempts: 1 }, cache: { ttl: { seconds: 600n } } } });
  const key = await createAppKey(admin, "acme");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "key-cap", budget: { target: key.name, limitMicrosUsd: 10n ** 12n, period: BudgetPeriod.MONTHLY } });
  await admin.budgets.createRateLimit({ parent: "orgs/acme", rateLimitId: "key", rateLimit: { target: key.name, requestsPerMinute: 1_000n, tokensPerMinute: 1_000_000n } });
  await Promise.all([gw.models.resolver.refresh(), gw.money.catalog.refresh()]);
  app = moneyClients(gw.url, key.secret);
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await state?.close();
  await proxy?.close();
  await fake?.close();
  await database?.drop();
});

/** Wall time of one unary call with a prompt never asked before (a cache miss where there is a cache). */
async function timedCall(route: string): Promise<number> {
  const started = performance.now();
  const res = await app.verbs.chat({ options: { route, maxOutputTokens: 20 }, messages: chatMessage(`question ${randomBytes(6).toString("hex")}`) });
  const ms = performance.now() - started;
  expect(res.usage?.cacheStatus).toBe(route === "cached" ? CacheStatus.MISS : CacheStatus.BYPASS);
  return ms;
}

describe("Redis round trips before a call is sent", () => {
  it("one for a call the cache cannot answer, two for a cacheable call that misses", async () => {
    // Warm: the budget's counters are seeded from the ledger on the period's first reservation.
    await timedCall("plain");
    await timedCall("cached");
    await proxy.setMode({ latencyMs: EACH_WAY_MS });
    const plain = Math.min(await timedCall("plain"), await timedCall("plain"));
    const cached = Math.min(await timedCall("cached"), await timedCall("cached"));
    // Each bound leaves ≥ 300 ms for everything else the call does.
    expect(plain).toBeGreaterThanOrEqual(ROUND_TRIP_MS - 5);
    expect(plain).toBeLessThan(1.5 * ROUND_TRIP_MS);
    expect(cached).toBeGreaterThanOrEqual(2 * ROUND_TRIP_MS - 5);
    expect(cached).toBeLessThan(2.5 * ROUND_TRIP_MS);
    expect(fake.requests()).toHaveLength(6);
  }, 30_000);
});
