/**
 * Budgets and rate limits on the OpenAI-compatible surface: the same pipeline stages refuse the
 * same calls as on the Connect surface, and OpenAI's SDK sees a `RateLimitError` carrying
 * `retry-after` — for a budget with `x-should-retry: false`, so the SDK does not retry it.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetExceededSchema, BudgetPeriod, RateLimitExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";

let fake: FakeProvider;
let gw: TestGateway;
let admin: MoneyClients;

beforeAll(async () => {
  fake = await startOpenAIFake();
  gw = await startTestGateway({ baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]), prices: TEST_PRICES });
  admin = moneyClients(gw.url, gw.adminKey);
  await admin.routes.createRoute({ routeId: "paid", route: { targets: [{ provider: "openai", model: "gpt-test", credential: "credentials/openai" }], retry: { maxAttempts: 1 } } });
  await gw.models.resolver.refresh();
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

const sdkFor = (secret: string, maxRetries = 0) => new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries });
const user = (text: string) => [{ role: "user" as const, content: text }];

describe("limits on both surfaces", () => {
  it("a budget cap: ResourceExhausted + BudgetExceeded / 429 RateLimitError with retry-after, never retried by the SDK", async () => {
    const key = await createAppKey(admin, "capped");
    await admin.budgets.createBudget({ parent: "orgs/capped", budgetId: "tiny", budget: { target: key.name, limitMicrosUsd: 1n, period: BudgetPeriod.DAILY } });
    await gw.money.catalog.refresh();
    fake.reset();

    const connect = await moneyClients(gw.url, key.secret)
      .verbs.chat({ options: { route: "paid", maxOutputTokens: 100 }, messages: chatMessage("hi") })
      .catch((e: unknown) => ConnectError.from(e));
    expect((connect as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((connect as ConnectError).findDetails(BudgetExceededSchema)[0]?.budget).toContain("tiny");

    // The SDK would retry a 429 twice; x-should-retry: false stops it, so this returns at once.
    const started = Date.now();
    const err = await sdkFor(key.secret, 2)
      .chat.completions.create({ model: "paid", messages: user("hi"), max_tokens: 100 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const rate = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rate.status).toBe(429);
    expect(rate.error).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded" });
    expect(Number(rate.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(rate.headers?.get("x-should-retry")).toBe("false");
    expect(Date.now() - started).toBeLessThan(2_000);

    const streamed = await sdkFor(key.secret)
      .chat.completions.create({ model: "paid", messages: user("hi"), max_tokens: 100, stream: true })
      .catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(OpenAI.RateLimitError);
    expect(fake.requests()).toHaveLength(0);
  });

  it("a rate limit: one counter for both surfaces, 429 with retry-after once it is spent", async () => {
    const key = await createAppKey(admin, "limited");
    await admin.budgets.createRateLimit({ parent: "orgs/limited", rateLimitId: "rpm", rateLimit: { target: key.name, requestsPerMinute: 2n } });
    await gw.money.catalog.refresh();
    const connect = moneyClients(gw.url, key.secret).verbs;
    const sdk = sdkFor(key.secret);
    fake.reset();

    await connect.chat({ options: { route: "paid" }, messages: chatMessage("one") });
    await sdk.chat.completions.create({ model: "paid", messages: user("two") });
    const third = await connect.chat({ options: { route: "paid" }, messages: chatMessage("three") }).catch((e: unknown) => ConnectError.from(e));
    expect((third as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((third as ConnectError).findDetails(RateLimitExceededSchema)).toHaveLength(1);

    const fourth = await sdk.chat.completions.create({ model: "paid", messages: user("four") }).catch((e: unknown) => e);
    expect(fourth).toBeInstanceOf(OpenAI.RateLimitError);
    const rate = fourth as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rate.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
    expect(Number(rate.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(rate.headers?.get("retry-after-ms"))).toBeGreaterThan(0);
    expect(fake.requests()).toHaveLength(2);
  });

  it("tells the caller where it stands, as OpenAI does: x-ratelimit-* on answers and streams, per limited dimension", async () => {
    const key = await createAppKey(admin, "metered");
    await admin.budgets.createRateLimit({ parent: "orgs/metered", rateLimitId: "key", rateLimit: { target: key.name, requestsPerMinute: 10n, tokensPerMinute: 50_000n } });
    // The org's requests limit is looser than the key's until the key's own calls spend it.
    await admin.budgets.createRateLimit({ parent: "orgs/metered", rateLimitId: "org", rateLimit: { target: "orgs/metered", requestsPerMinute: 12n } });
    await gw.money.catalog.refresh();
    const sdk = sdkFor(key.secret);
    const reset = /^(\d+m)?\d+(\.\d+)?s$/;

    const { response } = await sdk.chat.completions.create({ model: "paid", messages: user("hello there"), max_tokens: 100 }).withResponse();
    const h = (name: string) => response.headers.get(name);
    expect([h("x-ratelimit-limit-requests"), h("x-ratelimit-remaining-requests")]).toEqual(["10", "9"]);
    expect(h("x-ratelimit-reset-requests")).toMatch(reset);
    // Tokens are counted with the estimate: the input's characters / 4 and the output cap.
    expect(h("x-ratelimit-limit-tokens")).toBe("50000");
    const tokensLeft = Number(h("x-ratelimit-remaining-tokens"));
    expect(tokensLeft).toBeLessThanOrEqual(50_000 - 100);
    expect(tokensLeft).toBeGreaterThan(49_800);
    expect(h("x-ratelimit-reset-tokens")).toMatch(reset);

    const streamed = await sdk.chat.completions.create({ model: "paid", messages: user("again"), max_tokens: 100, stream: true }).withResponse();
    for await (const _ of streamed.data) void _;
    expect(streamed.response.headers.get("x-ratelimit-remaining-requests")).toBe("8");
    expect(Number(streamed.response.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(tokensLeft);

    // Another key of the org spends the org's limit down to 2 left: the org's window is now the tightest.
    const other = await createAppKey(admin, "metered", "other");
    for (let i = 0; i < 8; i++) await sdkFor(other.secret).chat.completions.create({ model: "paid", messages: user(`other ${i}`), max_tokens: 5 });
    const third = await sdk.chat.completions.create({ model: "paid", messages: user("third"), max_tokens: 100 }).withResponse();
    expect([third.response.headers.get("x-ratelimit-limit-requests"), third.response.headers.get("x-ratelimit-remaining-requests")]).toEqual(["12", "1"]);

    // A key no limit covers gets none of them.
    const free = await createAppKey(admin, "unmetered");
    const plain = await sdkFor(free.secret).chat.completions.create({ model: "paid", messages: user("hi") }).withResponse();
    expect([...plain.response.headers.keys()].filter((n) => n.startsWith("x-ratelimit"))).toEqual([]);

    // And the refusal names the limit that refused, with nothing left until its reset.
    await sdk.chat.completions.create({ model: "paid", messages: user("fourth"), max_tokens: 100 });
    const refused = (await sdk.chat.completions.create({ model: "paid", messages: user("fifth"), max_tokens: 100 }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect([refused.headers?.get("x-ratelimit-limit-requests"), refused.headers?.get("x-ratelimit-remaining-requests")]).toEqual(["12", "0"]);
    expect(refused.headers?.get("x-ratelimit-reset-requests")).toMatch(reset);
  });

  it("a cache hit reports no x-ratelimit-*-tokens, even when its tokens were checked ahead of the cache read and given back", async () => {
    await admin.routes.createRoute({
      routeId: "paid-cached",
      route: { targets: [{ provider: "openai", model: "gpt-test", credential: "credentials/openai" }], cache: { ttl: { seconds: 60n } }, retry: { maxAttempts: 1 } },
    });
    await gw.models.resolver.refresh();
    const key = await createAppKey(admin, "hit-metered");
    await admin.budgets.createRateLimit({ parent: "orgs/hit-metered", rateLimitId: "key", rateLimit: { target: key.name, requestsPerMinute: 10n, tokensPerMinute: 50_000n } });
    await gw.money.catalog.refresh();
    const sdk = sdkFor(key.secret);
    fake.reset();
    const ask = () => sdk.chat.completions.create({ model: "paid-cached", messages: user("what is the refund window?"), max_tokens: 100 }).withResponse();

    const miss = await ask();
    expect(miss.response.headers.get("x-switchboard-cache")).toBe("miss");
    expect(miss.response.headers.get("x-ratelimit-limit-tokens")).toBe("50000");
    // A route seen missing is one whose next call has its tokens checked ahead, with the cache read.
    const hit = await ask();
    expect(hit.response.headers.get("x-switchboard-cache")).toBe("hit_exact");
    expect(hit.response.headers.get("x-ratelimit-remaining-requests")).toBe("8");
    const tokenHeaders = [...hit.response.headers.keys()].filter((n) => n.startsWith("x-ratelimit") && n.endsWith("-tokens"));
    expect(tokenHeaders).toEqual([]);

    const streamed = await sdk.chat.completions.create({ model: "paid-cached", messages: user("what is the refund window?"), max_tokens: 100, stream: true }).withResponse();
    for await (const _ of streamed.data) void _;
    expect(streamed.response.headers.get("x-ratelimit-remaining-requests")).toBe("7");
    expect([...streamed.response.headers.keys()].filter((n) => n.startsWith("x-ratelimit") && n.endsWith("-tokens"))).toEqual([]);
    // A miss still reports the tokens its check ahead counted, streamed or not.
    const streamedMiss = await sdk.chat.completions.create({ model: "paid-cached", messages: user("and the shipping time?"), max_tokens: 100, stream: true }).withResponse();
    for await (const _ of streamedMiss.data) void _;
    expect(streamedMiss.response.headers.get("x-ratelimit-limit-tokens")).toBe("50000");
    expect(fake.requests()).toHaveLength(2);
  });
});
