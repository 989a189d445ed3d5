/**
 * P4: Postgres unreachable for a while under load. Usage records wait in the local buffer, paid
 * calls are shed (Unavailable, nothing sent) once the backlog reaches its bound, and after
 * recovery every upstream request is exactly one ledger row: nothing lost, nothing twice.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { systemClock } from "../../server/clock.js";
import { createBudgetReservations } from "../../server/limits/budget-reservation.js";
import { createMemoryState } from "../../server/store/state/memory-state.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { chatMessage, createAppKey, moneyClients, type MoneyClients } from "../support/money.js";
import { fakeProviderOptions, fakeTarget } from "../support/money-rig.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const MAX_PENDING = 40;
let database: TestDatabase;
let proxy: TcpProxy;
let fake: FakeProvider;
let gw: TestGateway;
let app: MoneyClients;
const state = createMemoryState();

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  fake = await startOpenAIFake();
  gw = await startTestGateway({
    databaseUrl: proxy.rewrite(database.url),
    ...fakeProviderOptions(fake),
    state,
    ledger: { flushIntervalMs: 50, maxPendingRows: MAX_PENDING, maxRetryDelayMs: 200 },
  });
  const admin = moneyClients(gw.url, gw.adminKey);
  await admin.routes.createRoute({ routeId: "paid", route: { targets: [fakeTarget()], retry: { maxAttempts: 1 } } });
  const key = await createAppKey(admin, "acme");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "cap", budget: { target: key.name, limitMicrosUsd: 1_000_000_000n, period: BudgetPeriod.TOTAL } });
  await gw.models.resolver.refresh();
  await gw.money.catalog.refresh();
  app = moneyClients(gw.url, key.secret);
  await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage("warm the key cache") });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await proxy?.close();
  await fake?.close();
  await database?.drop();
  await state.close();
});

describe("a Postgres outage under load (P4)", () => {
  it("loses nothing, duplicates nothing, and sheds paid calls rather than drop records", async () => {
    let running = true;
    let ok = 0;
    const shed: string[] = [];
    const other: string[] = [];
    const load = Promise.all(
      Array.from({ length: 6 }, async (_, client) => {
        for (let n = 0; running; n++) {
          try {
            await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage(`call ${client} ${n}`) });
            ok++;
          } catch (e) {
            const err = ConnectError.from(e);
            (err.code === Code.Unavailable && err.rawMessage.includes("usage ledger") ? shed : other).push(err.message);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.setMode("closed");
    await expect.poll(() => shed.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(gw.money.ledger.pending()).toBeGreaterThanOrEqual(MAX_PENDING);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await proxy.setMode("forward");
    await new Promise((resolve) => setTimeout(resolve, 500));
    running = false;
    await load;
    expect(other).toEqual([]);

    await expect.poll(() => gw.money.ledger.flush().then(() => gw.money.ledger.pending(), () => -1), { timeout: 10_000, interval: 200 }).toBe(0);
    const totals = await gw.money.usage.totals({ start: new Date(0), end: new Date(Date.now() + 60_000) });
    expect(totals.attempts).toBe(BigInt(fake.requests().length));
    expect(totals.attempts).toBe(BigInt(ok + 1));
    const status = await moneyClients(gw.url, gw.adminKey).budgets.getBudgetStatus({ name: "orgs/acme/budgets/cap" });
    expect(status.reservedMicrosUsd).toBe(0n);
    expect(status.spentMicrosUsd).toBe(totals.costMicros);
    const orgId = (await gw.money.usage.list({ start: new Date(0), end: new Date(Date.now() + 60_000), limit: 1 })).items[0]!.orgId;
    const counters = await createBudgetReservations({ state, clock: systemClock }).snapshot(orgId, {
      id: "orgs/acme/budgets/cap",
      level: "key",
      limitMicros: 1_000_000_000n,
      period: "total",
      tz: "UTC",
    });
    expect(counters.spentMicros).toBe(totals.costMicros);
  }, 20_000);
});
