import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { counterKey } from "../limits/budget-reservation.js";
import { createLimitsCatalog } from "../limits/limits-catalog.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { createLimitStore, type BudgetFields, type LimitStore } from "./limit-store.js";
import { migrateToLatest } from "./migrate.js";

/**
 * A budget's counter epoch (migration 0011) names the fast-path counters that count its spend
 * (`counterKey`). It must move exactly when those counters would count something else — another
 * stretch of time (period, time zone) or another target, or a new budget reusing a deleted one's
 * name — and nowhere else, so calls in flight keep settling into the counters that admit the next
 * ones. The pipeline side: `server/pipeline/budget-counters-after-period-or-zone-change.test.ts`.
 */
function describeCounterEpoch(kind: string, open: () => Promise<{ handle: DatabaseHandle; drop?: () => Promise<void> }>): void {
  describe(`budget counter epochs on ${kind}`, () => {
    let handle: DatabaseHandle;
    let drop: (() => Promise<void>) | undefined;
    let store: LimitStore;
    const orgId = "org_test_1";
    const daily = (targetId: string): BudgetFields => ({
      target: `orgs/acme/keys/${targetId}`,
      level: "key",
      targetId,
      limitMicros: 1_000n,
      period: "daily",
      timeZone: "UTC",
      alertThresholdsPercent: [],
      alertWebhookUrl: "",
    });
    const epochOf = async (name: string) => (await store.budgets.get(orgId, name))!.counterEpoch;
    const created = async (name: string, fields: BudgetFields) => {
      const outcome = await store.budgets.create(orgId, name, fields);
      if (outcome.kind !== "created") throw new Error(`${name}: ${outcome.kind}`);
      return outcome.record;
    };
    beforeAll(async () => {
      ({ handle, drop } = await open());
      await migrateToLatest(handle.db);
      await handle.db.insertInto("orgs").values({ id: orgId, name: "acme" }).execute();
      store = createLimitStore(handle.db);
    });
    afterAll(async () => {
      await handle.close();
      await drop?.();
    });

    it("is 0 for a new name, so the counters keep the keys they had before epochs existed", async () => {
      const b = await created("fresh", daily("key_a"));
      expect(b.counterEpoch).toBe(0n);
      expect(counterKey(orgId, { id: "orgs/acme/budgets/fresh", counterEpoch: b.counterEpoch }, "2026-11-29")).toBe(
        `budget:{${orgId}}:orgs/acme/budgets/fresh:2026-11-29`,
      );
    });

    it("stays when only the limit, the alerts, or a period or zone equal to the current one are set", async () => {
      await created("steady", daily("key_a"));
      await store.budgets.update(orgId, "steady", { limitMicros: 5n, alertThresholdsPercent: [50], alertWebhookUrl: "https://hooks.example/x" });
      await store.budgets.update(orgId, "steady", { period: "daily", timeZone: "UTC", targetId: "key_a", level: "key" });
      expect(await epochOf("steady")).toBe(0n);
    });

    it("moves to a value never used before when the time zone, the period or the target changes", async () => {
      await created("moving", daily("key_a"));
      const seen = [await epochOf("moving")];
      for (const patch of [{ timeZone: "Asia/Tokyo" }, { period: "weekly" as const }, { period: "daily" as const }, { targetId: "key_b", target: "orgs/acme/keys/key_b" }]) {
        const updated = (await store.budgets.update(orgId, "moving", patch))?.after;
        expect(updated?.counterEpoch, JSON.stringify(patch)).not.toBe(seen.at(-1));
        expect(seen).not.toContain(updated!.counterEpoch);
        seen.push(updated!.counterEpoch);
      }
      // A limit change after those keeps the last one.
      expect((await store.budgets.update(orgId, "moving", { limitMicros: 7n }))?.after.counterEpoch).toBe(seen.at(-1));
    });

    it("moves when a deleted budget's name is used again, and the catalog delivers it", async () => {
      const first = await created("reused", daily("key_a"));
      expect(await store.budgets.delete(orgId, "reused")).toMatchObject({ counterEpoch: first.counterEpoch });
      const second = await created("reused", daily("key_b"));
      expect(second.counterEpoch).not.toBe(first.counterEpoch);
      expect(second.counterEpoch).not.toBe(0n);
      expect(await store.budgets.delete(orgId, "reused")).toMatchObject({ counterEpoch: second.counterEpoch });
      const third = await created("reused", daily("key_b"));
      expect([0n, first.counterEpoch, second.counterEpoch]).not.toContain(third.counterEpoch);

      const catalog = createLimitsCatalog({ store, pollMs: 60_000 });
      try {
        await catalog.refresh();
        const refs = catalog.budgetsFor({ orgId, teamId: "team_x", keyId: "key_b" }, {});
        expect(refs.find((r) => r.id === "orgs/acme/budgets/reused")?.counterEpoch).toBe(third.counterEpoch);
      } finally {
        catalog.close();
      }
    });
  });
}

describeCounterEpoch("PGlite", async () => ({ handle: await createDatabase({ dataDir: "memory://" }) }));

let pgDb: TestDatabase | undefined;
describeCounterEpoch("Postgres", async () => {
  pgDb = await createTestDatabase();
  return { handle: await createDatabase({ databaseUrl: pgDb.url }), drop: () => pgDb!.drop() };
});
