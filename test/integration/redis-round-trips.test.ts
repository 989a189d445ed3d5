/**
 * The Redis round trips a model call waits for before it is sent, through the gateway on real
 * Postgres and Redis, with Redis behind a proxy that adds 300 ms each way (one round trip ≥ 600
 * ms, far above everything else a call does here). Decision (README, "Rate limits"): a call the
 * cache cannot answer waits for one — its requests and tokens limits and its budget reservation
 * leave together — and so does a cacheable call on a route that mostly misses (its tokens and
 * reservation leave with the cache read, and are given back on a hit); a cacheable call on a route
 * that mostly hits waits for two (the lookup with the requests check, then the tokens check with
 * the reservation), so its hits pay no reservation and no token refund.
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

/** Wall time of one unary call with `question`, and how the cache took part. */
async function timedCall(route: string, question = `question ${randomBytes(6).toString("hex")}`): Promise<{ ms: number; status: CacheStatus | undefined }> {
  const started = performance.now();
  const res = await app.verbs.chat({ options: { route, maxOutputTokens: 20 }, messages: chatMessage(question) });
  return { ms: performance.now() - started, status: res.usage?.cacheStatus };
}
/** The faster of two calls with prompts never asked before (a cache miss where there is a cache). */
async function fasterMiss(route: string): Promise<number> {
  const [a, b] = [await timedCall(route), await timedCall(route)];
  for (const { status } of [a, b]) expect(status).toBe(route === "cached" ? CacheStatus.MISS : CacheStatus.BYPASS);
  return Math.min(a.ms, b.ms);
}

describe("Redis round trips before a call is sent", () => {
  it("one for a call the cache cannot answer or a route that mostly misses, two on a route that mostly hits", async () => {
    // Warm: the budget's counters are seeded from the ledger on the period's first reservation.
    await timedCall("plain");
    await timedCall("cached");
    await proxy.setMode({ latencyMs: EACH_WAY_MS });
    // Each bound leaves ≥ 300 ms for everything else the call does.
    const plain = await fasterMiss("plain");
    expect(plain).toBeGreaterThanOrEqual(ROUND_TRIP_MS - 5);
    expect(plain).toBeLessThan(1.5 * ROUND_TRIP_MS);
    const mostlyMissing = await fasterMiss("cached");
    expect(mostlyMissing).toBeGreaterThanOrEqual(ROUND_TRIP_MS - 5);
    expect(mostlyMissing).toBeLessThan(1.5 * ROUND_TRIP_MS);
    // Make the route one that mostly hits (quickly, without the latency), then miss on it.
    await proxy.setMode("forward");
    for (let i = 0; i < 30; i++) expect((await timedCall("cached", "the same question")).status).toBe(i === 0 ? CacheStatus.MISS : CacheStatus.HIT_EXACT);
    await proxy.setMode({ latencyMs: EACH_WAY_MS });
    const mostlyHitting = await fasterMiss("cached");
    expect(mostlyHitting).toBeGreaterThanOrEqual(2 * ROUND_TRIP_MS - 5);
    expect(mostlyHitting).toBeLessThan(2.5 * ROUND_TRIP_MS);
    expect(fake.requests()).toHaveLength(9);
  }, 40_000);
});
