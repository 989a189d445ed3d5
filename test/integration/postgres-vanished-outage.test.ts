/**
 * P8: the gateway recovers by itself after a Postgres outage — also one where Postgres vanished
 * without a word (its host lost power, a failover moved its address, a NAT forgot the flow), so the
 * connections open at the time never get an answer, a FIN or a reset. With no bound on a query, the
 * ledger's flush and the limits poll waited on those connections forever: the backlog grew until
 * paid calls were shed, and the budgets never refreshed again, long after Postgres was back. Every
 * query now has a bound, after which its connection is destroyed and the next tick opens a fresh one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerRecord } from "../../server/limits/ledger-testing.js";
import { createMoneyLayer, type MoneyLayer } from "../../server/limits/money-layer.js";
import { createDatabase, type DatabaseHandle } from "../../server/store/database.js";
import { createLimitStore } from "../../server/store/limit-store.js";
import { migrateToLatest } from "../../server/store/migrate.js";
import { createLogCapture } from "../support/log-capture.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: TestDatabase;
let direct: DatabaseHandle;
let proxy: TcpProxy;
let viaProxy: DatabaseHandle;
let money: MoneyLayer;
let ledgerDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  direct = await createDatabase({ databaseUrl: database.url, pool: 2 });
  await migrateToLatest(direct.db);
  await direct.db.insertInto("orgs").values({ id: "org_a", name: "acme" }).execute();
  await direct.db.insertInto("teams").values({ id: "team_a", org_id: "org_a", name: "web" }).execute();
  const target = new URL(database.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  // Short bounds, so the test does not wait out the production ones.
  viaProxy = await createDatabase({ databaseUrl: proxy.rewrite(database.url), pool: 2, statementTimeoutMs: 300, connectTimeoutMs: 500 });
  ledgerDir = await mkdtemp(join(tmpdir(), "sb-vanished-ledger-"));
  money = await createMoneyLayer({
    db: viaProxy.db,
    logger: createLogCapture().logger,
    ledgerDir,
    ledger: { flushIntervalMs: 50, maxRetryDelayMs: 200 },
    limitsPollMs: 50,
  });
});
afterAll(async () => {
  await proxy?.setMode("forward");
  await money?.close();
  await viaProxy?.close();
  await proxy?.close();
  await direct?.close();
  await database?.drop();
  if (ledgerDir !== undefined) await rm(ledgerDir, { recursive: true, force: true });
});

describe("Postgres vanishes with work in flight, then a replacement answers", () => {
  it("the ledger flushes and the limits poll sees a new budget, on fresh connections", async () => {
    await money.ledger.append([ledgerRecord({ callId: "before" })]);
    await expect.poll(() => money.ledger.pending(), { timeout: 10_000 }).toBe(0);

    await proxy.setMode("vanish");
    await money.ledger.append([ledgerRecord({ callId: "during" })]);
    // Several ticks: the flush and the poll are now waiting on connections that will never answer.
    await sleep(500);
    expect(money.ledger.pending()).toBe(1);

    await proxy.setMode("forward");
    await createLimitStore(direct.db).budgets.create("org_a", "cap", {
      target: "orgs/acme",
      level: "org",
      targetId: "org_a",
      limitMicros: 1_000_000n,
      period: "monthly",
      timeZone: "UTC",
      alertThresholdsPercent: [],
      alertWebhookUrl: "",
    });

    await expect.poll(() => money.ledger.pending(), { timeout: 20_000, interval: 100 }).toBe(0);
    const committed = await direct.db.selectFrom("usage_records").select("call_id").orderBy("call_id").execute();
    expect(committed.map((r) => r.call_id)).toEqual(["before", "during"]);
    await expect.poll(() => money.catalog.budgetTenants(), { timeout: 20_000, interval: 100 }).toEqual(["org_a"]);
  }, 60_000);
});
