import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, withClient, type TestDatabase } from "../../test/support/postgres.js";
import { createRouteResolver } from "../dispatch/route-resolver.js";
import { createLimitsCatalog } from "../limits/limits-catalog.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { createLimitStore } from "./limit-store.js";
import { migrateToLatest } from "./migrate.js";
import { createRouteStore } from "./route-store.js";

/*
 * Routes and limits take their revision from a sequence when the write starts, but become visible
 * when it commits: two writers can commit in the other order. A replica that polls only
 * `max(revision)` then reloads when the later revision commits, before the earlier one is
 * visible — and when the earlier one commits, the maximum does not move, so no replica (not even
 * the writer's own, whose refresh after its write is told "nothing changed") ever loads it.
 *
 * The slow writer is held between its `nextval` and its commit the way Postgres holds any insert:
 * its foreign-key check (run at the end of the statement, after the row and its revision were
 * made) waits for a lock another session holds on its org.
 */

let pg: TestDatabase;
let writers: DatabaseHandle;
let replica: DatabaseHandle;
beforeAll(async () => {
  pg = await createTestDatabase();
  writers = await createDatabase({ databaseUrl: pg.url, pool: 4 });
  replica = await createDatabase({ databaseUrl: pg.url, pool: 2 });
  await migrateToLatest(writers.db);
  await writers.db.insertInto("orgs").values([{ id: "org_slow", name: "slow" }, { id: "org_fast", name: "fast" }]).execute();
});
afterAll(async () => {
  await writers?.close();
  await replica?.close();
  await pg?.drop();
});

/** Runs `write` while another session holds `orgId` FOR UPDATE, so it stalls after taking its revision; `release` lets it commit. */
async function stalledWrite<T>(orgId: string, write: () => Promise<T>): Promise<{ release: () => Promise<T> }> {
  let unlock!: () => void;
  const unlocked = new Promise<void>((resolve) => (unlock = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = withClient(pg.url, async (client) => {
    await client.query("begin");
    await client.query("select id from orgs where id = $1 for update", [orgId]);
    locked();
    await unlocked;
    await client.query("rollback");
  });
  await isLocked;
  const pending = write();
  // Wait until the write is blocked on the org's row lock (it has taken its revision by then).
  await withClient(pg.url, async (client) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await client.query<{ n: string }>("select count(*)::text as n from pg_locks where not granted and locktype in ('transactionid', 'tuple')");
      if (Number(rows[0]!.n) > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("the slow write never blocked");
  });
  return {
    release: async () => {
      unlock();
      await holder;
      return pending;
    },
  };
}

describe("a replica polling the revision of routes and limits", () => {
  it("loads a route whose write committed after a later revision's (commit order ≠ revision order)", async () => {
    const routes = createRouteStore(writers.db);
    const resolver = createRouteResolver({ store: createRouteStore(replica.db), pollMs: 3_600_000 });
    try {
      await resolver.refresh();
      const slow = await stalledWrite("org_slow", () => routes.create("org_slow", "chat", { targets: [{ provider: "openai", model: "gpt-4o-mini" }] }));
      await routes.create("org_fast", "chat", { targets: [{ provider: "anthropic", model: "claude-haiku" }] });
      await resolver.refresh(); // sees the later revision, before the earlier write is visible
      expect(resolver.resolve("chat", "org_fast")).toBeDefined();
      expect(await slow.release()).not.toBe("exists");
      await resolver.refresh(); // what the writing replica does after its write, and every poll after
      expect(resolver.resolve("chat", "org_slow")?.targets[0]?.provider).toBe("openai");
    } finally {
      resolver.close();
    }
  });

  it("enforces a budget whose write committed after a later revision's (commit order ≠ revision order)", async () => {
    const limits = createLimitStore(writers.db);
    const catalog = createLimitsCatalog({ store: createLimitStore(replica.db), pollMs: 3_600_000 });
    const budget = (orgId: string, name: string) => ({ target: `orgs/${name}`, level: "org" as const, targetId: orgId, limitMicros: 1_000_000n, period: "monthly" as const, timeZone: "UTC", alertThresholdsPercent: [], alertWebhookUrl: "" });
    try {
      await catalog.refresh();
      const slow = await stalledWrite("org_slow", () => limits.budgets.create("org_slow", "cap", budget("org_slow", "slow")));
      await limits.budgets.create("org_fast", "cap", budget("org_fast", "fast"));
      await catalog.refresh();
      expect(catalog.budgetsFor({ orgId: "org_fast", teamId: "t", keyId: "k" }, {})).toHaveLength(1);
      expect((await slow.release()).kind).toBe("created");
      await catalog.refresh();
      expect(catalog.budgetsFor({ orgId: "org_slow", teamId: "t", keyId: "k" }, {}).map((b) => b.id)).toEqual(["orgs/slow/budgets/cap"]);
    } finally {
      catalog.close();
    }
  });
});
