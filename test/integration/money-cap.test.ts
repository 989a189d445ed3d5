/**
 * P1 and P6 across three replicas: a $1.00 cap on one key, 64 concurrent clients spread over three
 * gateways sharing Postgres and Redis, a fake that bills known costs (some calls at their full
 * max tokens). The ledger never exceeds the cap, equals the fake's truth log priced, equals the
 * budget counters, and every Redis key left behind has a TTL.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetPeriod } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { BudgetExceededSchema } from "../../gen/ts/switchboard/v1/error_details_pb.js";
import { systemClock } from "../../server/clock.js";
import { createBudgetReservations } from "../../server/limits/budget-reservation.js";
import { createRedisState } from "../../server/store/state/redis-state.js";
import type { FakeProvider } from "../fakes/fake-types.js";
import { chatMessage, createAppKey, type MoneyClients, type Replicas } from "../support/money.js";
import { fakeTarget, startMoneyReplicas, type MoneyReplicas } from "../support/money-rig.js";
import { requireEnv } from "../support/require-env.js";

/** Output tokens only, 1000 µ$ each: a call's cost is known exactly from its output tokens. */
const PRICES = { version: "p1-prices", rows: [{ provider: "openai", model: "gpt-p1", effectiveFrom: "2020-01-01", input: 0, output: 1_000_000_000 }] };
const CAP = 1_000_000n;
const MAX_TOKENS = 20;

let rig: MoneyReplicas;
let fake: FakeProvider;
let replicas: Replicas;
let apps: MoneyClients[];

beforeAll(async () => {
  rig = await startMoneyReplicas({ prices: PRICES });
  ({ fake, replicas } = rig);
  const admin = rig.admin;
  await admin.routes.createRoute({ routeId: "p1", route: { targets: [fakeTarget("gpt-p1")], retry: { maxAttempts: 1 } } });
  const app = await createAppKey(admin, "acme");
  await admin.budgets.createBudget({ parent: "orgs/acme", budgetId: "dollar", budget: { target: app.name, limitMicrosUsd: CAP, period: BudgetPeriod.TOTAL } });
  await replicas.refresh();
  apps = rig.clients(app.secret);
  // Outputs between 1 and MAX_TOKENS, every third call at the full max.
  let seed = 7;
  for (let i = 0; i < 400; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    fake.script({ reply: { text: "ok", usage: { input: 3, output: i % 3 === 0 ? MAX_TOKENS : 1 + (seed % MAX_TOKENS) } } });
  }
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

describe("a $1.00 cap across three replicas (P1)", () => {
  it("admits calls until the cap, refuses the rest with BudgetExceeded, and never overspends", async () => {
    const refusals: ConnectError[] = [];
    const others: ConnectError[] = [];
    let ok = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, client) => {
        for (let n = 0; ; n++) {
          const gw = apps[(client + n) % 3]!;
          const options = { route: "p1", maxOutputTokens: MAX_TOKENS };
          try {
            if ((client + n) % 2 === 0) await gw.verbs.chat({ options, messages: chatMessage("go") });
            else for await (const _ of gw.verbs.chatStream({ options, messages: chatMessage("go") }));
            ok++;
          } catch (e) {
            const err = ConnectError.from(e);
            (err.code === Code.ResourceExhausted ? refusals : others).push(err);
            return;
          }
        }
      }),
    );
    expect(others.map((e) => e.message)).toEqual([]);
    expect(refusals).toHaveLength(64);
    expect(refusals.every((e) => e.findDetails(BudgetExceededSchema)[0]?.budget === "orgs/acme/budgets/dollar")).toBe(true);
    expect(ok).toBeGreaterThan(40);
    // Quiescent now: calls one at a time until the cap refuses one with nothing else held, so a
    // refusal during the race that left room (held by calls that then cost less) is caught up.
    for (;;) {
      const err = await apps[ok % 3]!.verbs.chat({ options: { route: "p1", maxOutputTokens: MAX_TOKENS }, messages: chatMessage("go") }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      if (err === undefined) {
        ok++;
        continue;
      }
      const detail = err.findDetails(BudgetExceededSchema)[0]!;
      expect(detail.reservedMicrosUsd).toBe(0n);
      expect(detail.spentMicrosUsd + detail.requestedMicrosUsd).toBeGreaterThan(CAP);
      break;
    }

    await replicas.flush();
    const gw = replicas.gateways[0]!;
    const all = { start: new Date(0), end: new Date(Date.now() + 60_000) };
    const ledger = await gw.money.usage.totals(all);
    const truth = fake.truth().reduce((sum, t) => sum + BigInt(t.outputTokens) * 1000n, 0n);
    expect(ledger.costMicros).toBeLessThanOrEqual(CAP);
    expect(ledger.costMicros).toBe(truth);
    expect(ledger.attempts).toBe(BigInt(fake.requests().length));
    expect(ledger.attempts).toBe(BigInt(ok));
    // No false refusal: the last refused call did not fit what was left.
    expect(CAP - ledger.costMicros).toBeLessThan(BigInt(MAX_TOKENS) * 1000n + 1n);

    // The fast-path counters agree with the ledger to the micro-dollar, nothing left held.
    const status = await replicas.admins[1]!.budgets.getBudgetStatus({ name: "orgs/acme/budgets/dollar" });
    expect(status).toMatchObject({ spentMicrosUsd: ledger.costMicros, reservedMicrosUsd: 0n });
    const orgId = (await gw.money.usage.list({ ...all, limit: 1 })).items[0]!.orgId;
    const state = createRedisState({ url: requireEnv("REDIS_URL"), keyPrefix: replicas.keys.prefix, commandTimeoutMs: 2000 });
    try {
      const snapshot = await createBudgetReservations({ state, clock: systemClock }).snapshot(orgId, {
        id: "orgs/acme/budgets/dollar",
        level: "key",
        limitMicros: CAP,
        period: "total",
        tz: "UTC",
      });
      expect(snapshot).toMatchObject({ spentMicros: ledger.costMicros, reservedMicros: 0n });
    } finally {
      await state.close();
    }
  }, 20_000);

  it("leaves no Redis key without a TTL (P6)", async () => {
    const ttls = await replicas.keys.ttls();
    expect(ttls.size).toBeGreaterThan(0);
    for (const [key, ttl] of ttls) expect(ttl, key).toBeGreaterThan(0);
  });

  it("keeps the cap after Redis loses every key: counters are re-seeded from the ledger (P7)", async () => {
    const spent = (await replicas.gateways[0]!.money.usage.totals({ start: new Date(0), end: new Date(Date.now() + 60_000) })).costMicros;
    await replicas.keys.clear();
    const err = await apps[2]!.verbs.chat({ options: { route: "p1", maxOutputTokens: MAX_TOKENS }, messages: chatMessage("after the flush") }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.findDetails(BudgetExceededSchema)[0]).toMatchObject({ spentMicrosUsd: spent, reservedMicrosUsd: 0n });
  });
});
