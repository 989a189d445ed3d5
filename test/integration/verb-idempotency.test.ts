/**
 * Idempotency keys on the verbs: a repeat returns the first result without a second provider
 * call (and without a second ledger row), a reused key with a different request is refused, a
 * concurrent duplicate is Aborted, and a failed call gives its key back.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SwitchboardError } from "../../clients/ts/src/errors.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { TEST_PRICES } from "../../server/limits/money-harness.testing.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

let fake: FakeProvider;
let gw: TestGateway;
let app: MoneyClients;
let other: MoneyClients;
let database: TestDatabase;
/** A short claim lease (`idempotency.leaseMs`), so a call outlives several. */
const LEASE_MS = 300;

beforeAll(async () => {
  fake = await startOpenAIFake();
  database = await createTestDatabase();
  gw = await startTestGateway({ databaseUrl: database.url, idempotency: { leaseMs: LEASE_MS }, baseUrls: { openai: `${fake.url}/v1` }, credentials: new Map([["credentials/openai", "sk-test"]]), prices: TEST_PRICES });
  const admin = moneyClients(gw.url, gw.adminKey);
  await admin.routes.createRoute({
    routeId: "paid",
    route: { targets: [{ provider: "openai", model: "gpt-test", credential: "credentials/openai" }], retry: { maxAttempts: 1 } },
  });
  await gw.models.resolver.refresh();
  app = moneyClients(gw.url, (await createAppKey(admin, "acme")).secret);
  other = moneyClients(gw.url, (await createAppKey(admin, "bravo")).secret);
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
  await database?.drop();
});

const chat = (client: MoneyClients, key: string, text = "hello") =>
  client.verbs.chat({ options: { route: "paid", idempotencyKey: key, maxOutputTokens: 20 }, messages: chatMessage(text) });
const codeOf = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => Code[ConnectError.from(e).code]);
const ledgerRows = async () => {
  await gw.money.ledger.flush();
  return (await gw.money.usage.totals({ start: new Date(0), end: new Date(Date.now() + 60_000) })).attempts;
};

describe("idempotency keys", () => {
  it("returns the first result for a repeat, without a second provider call or ledger row", async () => {
    fake.reset();
    fake.script({ reply: { text: "first answer" } }, { reply: { text: "second answer" } });
    const first = await chat(app, "order-1");
    const rows = await ledgerRows();
    let replayed: string | null = null;
    const again = await app.verbs.chat(
      { options: { route: "paid", idempotencyKey: "order-1", maxOutputTokens: 20 }, messages: chatMessage("hello") },
      { onHeader: (h) => (replayed = h.get("idempotent-replayed")) },
    );
    expect(again).toEqual(first);
    expect(again.message?.content[0]?.part.value).toBe("first answer");
    expect(replayed).toBe("true");
    expect(fake.requests()).toHaveLength(1);
    expect(await ledgerRows()).toBe(rows);
  });

  it("refuses the same key with a different request; keys are per org", async () => {
    expect(await codeOf(chat(app, "order-1", "something else"))).toBe("FailedPrecondition");
    fake.reset();
    expect(await codeOf(chat(other, "order-1", "something else"))).toBe("ok");
    expect(fake.requests()).toHaveLength(1);
  });

  it("answers Aborted, with a retry delay within the lease, to a duplicate while the first call is in flight, however long it runs", async () => {
    fake.reset();
    fake.script({ reply: { text: "slow" }, delayMs: 4 * LEASE_MS });
    const slow = chat(app, "order-2");
    await expect.poll(() => fake.requests().length).toBe(1);
    // Past the first lease: the running call has renewed its claim.
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_MS));
    const refused = await chat(app, "order-2").then(() => undefined, (e: unknown) => SwitchboardError.fromError(e));
    expect(refused?.code).toBe(Code.Aborted);
    expect(refused?.retryDelayMs).toBeGreaterThan(0);
    expect(refused?.retryDelayMs).toBeLessThanOrEqual(LEASE_MS);
    const answer = await slow;
    expect(await chat(app, "order-2")).toEqual(answer);
    expect(fake.requests()).toHaveLength(1);
  });

  it("gives the key back when the call fails, so a retry runs", async () => {
    fake.reset();
    fake.script({ fault: { kind: "status", status: 500 } }, { reply: { text: "recovered" } });
    expect(await codeOf(chat(app, "order-3"))).toBe("Unavailable");
    const retried = await chat(app, "order-3");
    expect(retried.message?.content[0]?.part.value).toBe("recovered");
    expect(fake.requests()).toHaveLength(2);
  });

  it("replays a whole ChatStream", async () => {
    fake.reset();
    fake.script({ reply: { text: "streamed words here" } });
    const run = async () => {
      const events = [];
      for await (const e of app.verbs.chatStream({ options: { route: "paid", idempotencyKey: "stream-1", maxOutputTokens: 20 }, messages: chatMessage("hi") })) events.push(e);
      return events;
    };
    const first = await run();
    const again = await run();
    expect(again).toEqual(first);
    expect(first.at(-1)?.event.case).toBe("completed");
    expect(fake.requests()).toHaveLength(1);
  });
});
