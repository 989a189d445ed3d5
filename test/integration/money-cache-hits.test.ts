/**
 * Cache hits in the ledger: a hit is one row (attempt 0, cost 0, `cache_status` hit), so usage
 * reports count hits and finance sees $0 rows, and a hit books nothing on a budget (what a
 * route that mostly misses reserved ahead of it is given back). Two replicas share Postgres and Redis, so a hit on one replica
 * serves what the other stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { CacheStatus } from "../../gen/ts/switchboard/v1/common_pb.js";
import { words } from "../../server/limits/money-harness.testing.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { chatMessage, createAppKey, type MoneyClients, type Replicas } from "../support/money.js";
import { fakeTarget, startMoneyReplicas, type MoneyReplicas } from "../support/money-rig.js";

let rig: MoneyReplicas;
let fake: FakeProvider;
let replicas: Replicas;
let apps: MoneyClients[];
const BUDGET = "orgs/acme/budgets/key-cap";
const all = () => ({ start: new Date(0), end: new Date(Date.now() + 60_000) });

beforeAll(async () => {
  rig = await startMoneyReplicas({}, 2);
  ({ fake, replicas } = rig);
  const admin = rig.admin;
  await admin.routes.createRoute({ routeId: "cached", route: { targets: [fakeTarget()], retry: { maxAttempts: 1 }, cache: { ttl: { seconds: 600n } } } });
  const key = await createAppKey(admin, "acme");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "key-cap", budget: { target: key.name, limitMicrosUsd: 1_000_000n, period: BudgetPeriod.MONTHLY } });
  await replicas.refresh();
  apps = rig.clients(key.secret);
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

describe("cache hits in the ledger", () => {
  it("writes exactly one zero-cost attempt-0 row per hit, unary and streamed, and leaves the budget untouched", async () => {
    fake.script({ reply: { text: words(5), usage: { input: 11, output: 7 } } });
    const options = { route: "cached", maxOutputTokens: 32 };
    const miss = await apps[0]!.verbs.chat({ options, messages: chatMessage("what is two plus two") });
    expect(miss.usage!.cacheStatus).toBe(CacheStatus.MISS);
    const paid = miss.usage!.costMicrosUsd;
    expect(paid).toBe(11n + 70n); // 1 µ$ per input token, 10 µ$ per output token
    await replicas.flush();
    const before = await replicas.admins[0]!.budgets.getBudgetStatus({ name: BUDGET });
    expect(before).toMatchObject({ spentMicrosUsd: paid, reservedMicrosUsd: 0n });

    // The same question on the other replica (unary), then streamed on the first: two hits.
    const hit = await apps[1]!.verbs.chat({ options, messages: chatMessage("what is two plus two") });
    expect(hit.usage).toMatchObject({ cacheStatus: CacheStatus.HIT_EXACT, costMicrosUsd: 0n });
    let streamed: { requestId: string; costMicrosUsd: bigint } | undefined;
    for await (const e of apps[0]!.verbs.chatStream({ options, messages: chatMessage("what is two plus two") })) {
      if (e.event.case === "completed") streamed = e.event.value.usage!;
    }
    expect(streamed?.costMicrosUsd).toBe(0n);
    expect(fake.requests()).toHaveLength(1);

    await replicas.flush();
    const gw = replicas.gateways[0]!;
    const rows = (await gw.money.usage.list({ ...all(), limit: 100 })).items;
    const hits = rows.filter((r) => r.attempt === 0);
    expect(rows).toHaveLength(3);
    expect(hits).toHaveLength(2);
    for (const row of hits) {
      expect(row).toMatchObject({ costMicros: 0n, inputTokens: 0, outputTokens: 0, cacheStatus: "hit_exact", outcome: "success", priceVersion: "cache", route: "cached", model: "gpt-test" });
    }
    expect(hits.map((r) => r.requestId).sort()).toEqual([hit.usage!.requestId, streamed!.requestId].sort());
    const totals = await gw.money.usage.totals(all());
    expect(totals).toMatchObject({ cacheHits: 2n, costMicros: paid });

    // Hits hold nothing and book nothing (what was reserved ahead of them was given back): the
    // budget's counters and its ledger spend are exactly what the one paid call left.
    const after = await replicas.admins[1]!.budgets.getBudgetStatus({ name: BUDGET });
    expect(after).toMatchObject({ spentMicrosUsd: paid, reservedMicrosUsd: 0n });
    const keys = [...(await replicas.keys.ttls()).keys()];
    expect(keys.filter((k) => k.startsWith("budget-hold:"))).toEqual([]);
  }, 20_000);
});
