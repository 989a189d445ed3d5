/**
 * Idempotency keys at their edges. README: "Only successes are kept, for 24 hours: a failed call
 * gives its key back so it can be retried." A ChatStream that fails mid-way reports the failure
 * in-band (`upstreamError` terminal event) while the RPC itself ends OK. And a stored answer is
 * replayed without running the verb, so without the calling key's checks: it is bound to the key
 * that made it.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

let fake: FakeProvider;
let gw: TestGateway;
let app: MoneyClients;
let database: TestDatabase;
let admin: MoneyClients;

beforeAll(async () => {
  fake = await startOpenAIFake();
  database = await createTestDatabase();
  gw = await startTestGateway({ databaseUrl: database.url, baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]), prices: TEST_PRICES });
  admin = moneyClients(gw.url, gw.adminKey);
  await admin.routes.createRoute({
    routeId: "paid",
    route: { targets: [{ provider: "openai", model: "gpt-test", credential: "credentials/openai" }], retry: { maxAttempts: 1 } },
  });
  await gw.models.resolver.refresh();
  app = moneyClients(gw.url, (await createAppKey(admin, "acme")).secret);
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
  await database?.drop();
});

describe("idempotency keys on a ChatStream that fails mid-way", () => {
  it("gives the key back after an upstream_error terminal, so the retry runs", async () => {
    fake.reset();
    fake.script({ fault: { kind: "mid_stream_error" }, reply: { text: "one two three four five six" } }, { reply: { text: "recovered" } });
    const run = async () => {
      const events = [];
      for await (const e of app.verbs.chatStream({ options: { route: "paid", idempotencyKey: "stream-fail-1", maxOutputTokens: 20 }, messages: chatMessage("hi") })) events.push(e);
      return events;
    };
    const first = await run();
    expect(first.at(-1)?.event.case).toBe("upstreamError");
    const again = await run();
    // The failed stream must not be stored as the key's answer: the retry calls the provider.
    expect(fake.requests()).toHaveLength(2);
    expect(again.at(-1)?.event.case).toBe("completed");
  });
});

describe("idempotency keys and a key's allowed routes", () => {
  it("a key that may not use the route never gets a colleague's stored answer", async () => {
    fake.reset();
    fake.script({ reply: { text: "the paid route's answer" } });
    const request = { options: { route: "paid", idempotencyKey: "shared-1", maxOutputTokens: 20 }, messages: chatMessage("what is the secret plan?") };
    expect((await app.verbs.chat(request)).message?.content[0]?.part.value).toBe("the paid route's answer");
    // Same org, a key restricted to another route.
    const created = await admin.keys.createKey({ parent: "orgs/acme/teams/app", keyId: "narrow", key: { scopes: [Scope.INVOKE], allowedRoutes: ["cheap"] } });
    const narrow = moneyClients(gw.url, created.secret);
    // Without an idempotency key the route is refused:
    const direct = await narrow.verbs.chat({ ...request, options: { ...request.options, idempotencyKey: "" } }).then(
      () => "ok",
      (e: unknown) => Code[ConnectError.from(e).code],
    );
    expect(direct).toBe("PermissionDenied");
    // With the colleague's idempotency key it is refused too: the stored answer is the other key's.
    const replayed = await narrow.verbs.chat(request).then(
      (r) => `answered: ${String(r.message?.content[0]?.part.value)}`,
      (e: unknown) => Code[ConnectError.from(e).code],
    );
    expect(replayed).toBe("FailedPrecondition");
    expect(fake.requests()).toHaveLength(1);
    // The key that made it still gets its replay.
    expect((await app.verbs.chat(request)).message?.content[0]?.part.value).toBe("the paid route's answer");
    expect(fake.requests()).toHaveLength(1);
  });
});
