/**
 * How cache hits count against rate limits, through the gateway on real Postgres and Redis.
 * Decision: a hit is still a request, so it counts against requests-per-minute; it uses no
 * provider capacity, so it neither counts against nor is refused by tokens-per-minute (the TPM
 * check sits inside the cache stage). The cache already makes hits cost $0 in budgets.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { RateLimitDimension, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { chatMessage, createAppKey, moneyClients, startReplicas, type MoneyClients, type Replicas } from "../support/money.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

/** Each call asks for 1 000 output tokens, so three calls' estimates exceed this limit. */
const TPM = 2_500;
const RPM = 3;

let database: TestDatabase;
let fake: FakeProvider;
let replicas: Replicas;
let tpmApp: MoneyClients;
let rpmApp: MoneyClients;

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startOpenAIFake();
  replicas = await startReplicas(database.url, { baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]) }, 1);
  const admin = replicas.admins[0]!;
  await admin.routes.createRoute({ routeId: "cached", route: { targets: [{ provider: "openai", model: "gpt-test", credential: "credentials/openai" }], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } } });
  const tpmKey = await createAppKey(admin, "tokens");
  const rpmKey = await createAppKey(admin, "requests");
  await admin.budgets.createRateLimit({ parent: "orgs/tokens", rateLimitId: "key-tpm", rateLimit: { target: tpmKey.name, tokensPerMinute: BigInt(TPM) } });
  await admin.budgets.createRateLimit({ parent: "orgs/requests", rateLimitId: "key-rpm", rateLimit: { target: rpmKey.name, requestsPerMinute: BigInt(RPM) } });
  await replicas.refresh();
  const url = replicas.gateways[0]!.url;
  tpmApp = moneyClients(url, tpmKey.secret);
  rpmApp = moneyClients(url, rpmKey.secret);
}, 30_000);
afterAll(async () => {
  await replicas?.close();
  await fake?.close();
  await database?.drop();
});

const ask = (app: MoneyClients, text: string) =>
  app.verbs.chat({ options: { route: "cached", maxOutputTokens: 1_000 }, messages: chatMessage(text) }).then(
    (res) => ({ status: res.usage?.cacheStatus, error: undefined }),
    (e: unknown) => ({ status: undefined, error: ConnectError.from(e) }),
  );

describe("cache hits and rate limits", () => {
  it("hits do not count against tokens-per-minute, nor are they refused by it; misses still are", async () => {
    fake.reset();
    fake.script({ reply: { text: "refunds within 30 days" } }, { reply: { text: "shipping is free" } });
    expect(await ask(tpmApp, "What is our refund policy?")).toEqual({ status: CacheStatus.MISS, error: undefined });
    // Eight hits: counted at ~1 000 tokens each they would have run through the limit twice over.
    for (let i = 0; i < 8; i++) expect((await ask(tpmApp, "What is our refund policy?")).status).toBe(CacheStatus.HIT_EXACT);
    expect(await ask(tpmApp, "What is our shipping policy?")).toEqual({ status: CacheStatus.MISS, error: undefined });
    // A third miss would take the window past the limit: refused on tokens, before the provider.
    const refused = await ask(tpmApp, "What is our returns address?");
    expect(refused.error?.code).toBe(Code.ResourceExhausted);
    expect(refused.error?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.TOKENS, limit: BigInt(TPM) });
    expect(fake.requests()).toHaveLength(2);
    // With the token limit exhausted, a hit is still served: it uses no provider capacity.
    expect((await ask(tpmApp, "What is our shipping policy?")).status).toBe(CacheStatus.HIT_EXACT);
  });

  it("hits count against requests-per-minute: a hit is still a request", async () => {
    fake.reset();
    fake.script({ reply: { text: "open 9 to 5" } });
    expect((await ask(rpmApp, "When are you open?")).status).toBe(CacheStatus.MISS);
    expect((await ask(rpmApp, "When are you open?")).status).toBe(CacheStatus.HIT_EXACT);
    expect((await ask(rpmApp, "When are you open?")).status).toBe(CacheStatus.HIT_EXACT);
    const refused = await ask(rpmApp, "When are you open?");
    expect(refused.error?.code).toBe(Code.ResourceExhausted);
    expect(refused.error?.findDetails(RateLimitExceededSchema)[0]).toMatchObject({ dimension: RateLimitDimension.REQUESTS, limit: BigInt(RPM) });
    expect(fake.requests()).toHaveLength(1);
  });
});
