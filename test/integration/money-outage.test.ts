/**
 * P4: Postgres unreachable for a while under load. Usage records wait in the local buffer, paid
 * calls are shed (Unavailable, nothing sent) once the backlog reaches its bound, and after
 * recovery paid calls are admitted again and every upstream request is exactly one ledger row:
 * nothing lost, nothing twice.
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
const MAX_RETRY_DELAY = 200;
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
    ledger: { flushIntervalMs: 50, maxPendingRows: MAX_PENDING, maxRetryDelayMs: MAX_RETRY_DELAY },
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

/** Where the outage was when a call of the load started. */
type Phase = "before" | "outage" | "recovered";

describe("a Postgres outage under load (P4)", () => {
  // Every step waits for the event it needs — each client answered, shed, answered again; the
  // writer at its longest retry delay — never for a fixed time: how many calls fit in a given
  // time depends on the machine's load (the backlog's bound took over 5 s to reach on a loaded
  // 2-core machine). The test's timeout is the one bound, for a hang.
  it("loses nothing, duplicates nothing, and sheds paid calls rather than drop records", async () => {
    const CLIENTS = 6;
    let running = true;
    let phase: Phase = "before";
    let ok = 0;
    const shed: string[] = [];
    const other: string[] = [];
    // The clients answered, and shed, by the phase their call started in.
    const answered = { before: new Set<number>(), outage: new Set<number>(), recovered: new Set<number>() };
    const shedIn = { before: new Set<number>(), outage: new Set<number>(), recovered: new Set<number>() };
    const waiters = new Set<() => void>();
    /** Resolves once `done()` holds (checked as each call of the load ends); rejects once a call failed otherwise than shed. */
    const until = (what: string, done: () => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (other.length > 0) reject(new Error(`calls failed otherwise than shed while waiting until ${what}: ${other.join("; ")}`));
          else if (done()) resolve();
          else return;
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    const load = Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let n = 0; running; n++) {
          const startedIn = phase;
          try {
            await app.verbs.chat({ options: { route: "paid", maxOutputTokens: 20 }, messages: chatMessage(`call ${client} ${n}`) });
            ok++;
            answered[startedIn].add(client);
          } catch (e) {
            const err = ConnectError.from(e);
            const isShed = err.code === Code.Unavailable && err.rawMessage.includes("usage ledger");
            (isShed ? shed : other).push(err.message);
            if (isShed) shedIn[startedIn].add(client);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          for (const check of [...waiters]) check();
        }
      }),
    );
    try {
      await until("every client was answered", () => answered.before.size === CLIENTS);
      await proxy.setMode("closed");
      // Once a flush has failed since, the one that may have been committing as the proxy closed
      // has settled (flushes run one at a time) and no commit can land: the backlog only grows.
      // So a call started from then on and shed was admitted with the backlog at its bound, and
      // it stays there (a shed before, possible when a slow flush lets the backlog reach the
      // bound, would prove neither).
      gw.log.clear();
      await until("a flush failed in the outage", () => gw.log.text().includes("ledger flush failed"));
      phase = "outage";
      await until("a call was shed in the outage", () => shedIn.outage.size > 0);
      expect(gw.money.ledger.pending()).toBeGreaterThanOrEqual(MAX_PENDING);
      await until("every client was shed and the writer retries at its longest delay", () => shedIn.outage.size === CLIENTS && gw.money.ledger.retryDelayMs() === MAX_RETRY_DELAY);
      await proxy.setMode("forward");
      phase = "recovered";
      // The backlog commits at the writer's next retry, and paid calls are admitted again.
      await until("every client was answered after recovery", () => answered.recovered.size === CLIENTS);
    } finally {
      running = false;
      await load;
    }
    expect(other).toEqual([]);

    // Postgres answers again (the calls above were admitted once the backlog was committed):
    // one flush commits what is left.
    await gw.money.ledger.flush();
    expect(gw.money.ledger.pending()).toBe(0);
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
  }, 60_000);
});
