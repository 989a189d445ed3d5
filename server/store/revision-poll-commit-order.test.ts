import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, withClient, type TestDatabase } from "../../test/support/postgres.js";
import { createRouteResolver } from "../dispatch/route-resolver.js";
import { createLimitsCatalog } from "../limits/limits-catalog.js";
import { createTemplateCatalog } from "../verbs/templates/template-catalog.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { createLimitStore } from "./limit-store.js";
import { migrateToLatest } from "./migrate.js";
import { createPromptStore } from "./prompt-store.js";
import { createRouteStore } from "./route-store.js";
import { createTenantStore } from "./tenant-store.js";

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
  await writers.db
    .insertInto("orgs")
    .values([
      { id: "org_slow", name: "slow" },
      { id: "org_fast", name: "fast" },
    ])
    .execute();
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

describe("a replica polling the revision of routes, limits and templates", () => {
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

  /*
   * DeleteOrg removes rows for good (the org's soft-deleted routes and limits, and with the org its
   * own templates and policies): the count and the sum both drop. Alone that moves the marker, but
   * a write that took its revision before the last poll and commits after it adds less than a
   * fresh one, so the two together can cancel out: the replica is told "nothing changed" and
   * never serves the late write, nor an update made beside them.
   */
  it("loads a late route write and an update whose revisions a DeleteOrg removing rows cancels out", async () => {
    const routes = createRouteStore(writers.db);
    const tenants = createTenantStore(writers.db);
    const resolver = createRouteResolver({ store: createRouteStore(replica.db), pollMs: 3_600_000 });
    const spec = (provider: string) => ({ targets: [{ provider, model: "m" }] });
    try {
      await writers.db.insertInto("orgs").values({ id: "org_gone", name: "gone" }).execute();
      const kept = await routes.create("org_fast", "kept", spec("openai"));
      if (kept === "exists") throw new Error("kept exists");
      await resolver.refresh();
      const slow = await stalledWrite("org_slow", () => routes.create("org_slow", "late", spec("openai")));
      await routes.create("org_gone", "old", spec("openai"));
      await routes.delete("org_gone", "old"); // soft: kept for the polls, with a revision above the late one
      let current = (await routes.replaceIf("org_fast", "kept", kept.revision, spec("openai")))!.after;
      await resolver.refresh();
      const late = await slow.release();
      if (late === "exists") throw new Error("late exists");
      const [gone] = await writers.db.selectFrom("routes").select("revision").where("org_id", "=", "org_gone").execute();
      // The update lands where the late revision plus its step equals the revision DeleteOrg removes.
      const target = current.revision + BigInt(gone!.revision) - late.revision;
      while (current.revision < target) current = (await routes.replaceIf("org_fast", "kept", current.revision, spec(current.revision + 1n === target ? "anthropic" : "openai")))!.after;
      expect(current.revision).toBe(target);
      expect(await tenants.deleteOrg("gone", { allOrgs: true })).toHaveProperty("deleted");
      await resolver.refresh();
      expect(resolver.resolve("late", "org_slow")?.targets[0]?.provider).toBe("openai");
      expect(resolver.resolve("kept", "org_fast")?.targets[0]?.provider).toBe("anthropic");
    } finally {
      resolver.close();
    }
  });

  it("renders a late template write and an update whose revisions a DeleteOrg taking its templates cancels out", async () => {
    const prompts = createPromptStore(writers.db);
    const tenants = createTenantStore(writers.db);
    const catalog = createTemplateCatalog({ store: createPromptStore(replica.db), pollMs: 3_600_000 });
    const template = (name: string) => ({ name, verb: "summarize", description: "", attachments: [] });
    const version = { messages: [{ role: "system" as const, template: "be brief" }], variables: [], description: "", creator: "test" };
    const revisionOf = async (name: string) => BigInt((await writers.db.selectFrom("prompt_templates").select("revision").where("name", "=", name).executeTakeFirstOrThrow()).revision);
    try {
      await writers.db.insertInto("orgs").values({ id: "org_gone2", name: "gone2" }).execute();
      expect((await prompts.createTemplate("org_fast", template("kept"), version)).kind).toBe("created");
      await catalog.refresh();
      const slow = await stalledWrite("org_slow", () => prompts.createTemplate("org_slow", template("late"), version));
      expect((await prompts.createTemplate("org_gone2", template("old"), version)).kind).toBe("created"); // live: goes with its org
      await prompts.updateTemplate("org_fast", "kept", { description: "1" });
      await catalog.refresh();
      expect((await slow.release()).kind).toBe("created");
      const target = (await revisionOf("kept")) + (await revisionOf("old")) - (await revisionOf("late"));
      for (let i = 2; (await revisionOf("kept")) < target; i++) await prompts.updateTemplate("org_fast", "kept", { description: String(i) });
      expect(await revisionOf("kept")).toBe(target);
      expect(await tenants.deleteOrg("gone2", { allOrgs: true })).toHaveProperty("deleted");
      await catalog.refresh();
      expect(catalog.byName("orgs/slow/prompts/late")).toBeDefined();
      expect(catalog.byName("orgs/gone2/prompts/old")).toBeUndefined();
    } finally {
      catalog.close();
    }
  });
});
