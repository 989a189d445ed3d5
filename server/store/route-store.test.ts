import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { migrateToLatest } from "./migrate.js";
import { createRouteStore, type RouteStore } from "./route-store.js";

function describeRouteStore(kind: string, open: () => Promise<{ handle: DatabaseHandle; drop?: () => Promise<void> }>): void {
  describe(`route store on ${kind}`, () => {
    let handle: DatabaseHandle;
    let drop: (() => Promise<void>) | undefined;
    let store: RouteStore;
    let orgId: string;
    beforeAll(async () => {
      ({ handle, drop } = await open());
      await migrateToLatest(handle.db);
      orgId = "org_test_1";
      await handle.db.insertInto("orgs").values({ id: orgId, name: "acme" }).execute();
      store = createRouteStore(handle.db);
    });
    afterAll(async () => {
      await handle.close();
      await drop?.();
    });

    it("creates, reads, refuses a duplicate alias in the same scope, allows it in another", async () => {
      const spec = { targets: [{ provider: "openai", model: "gpt-4o-mini" }] };
      const created = await store.create(null, "fast", spec);
      expect(created).not.toBe("exists");
      expect(await store.create(null, "fast", spec)).toBe("exists");
      const shadow = await store.create(orgId, "fast", { targets: [{ provider: "anthropic", model: "claude" }] });
      expect(shadow).toMatchObject({ orgId, orgName: "acme", alias: "fast" });
      expect((await store.get(null, "fast"))?.spec).toEqual(spec);
      expect(await store.seed(null, "fast", {})).toBe(false);
      expect(await store.seed(null, "seeded", spec)).toBe(true);
    });

    it("moves the revision on every change, deletes softly, and frees the alias", async () => {
      const r0 = await store.revision();
      const before = (await store.get(null, "fast"))!;
      const change = await store.replaceIf(null, "fast", before.revision, { targets: [{ provider: "gemini", model: "gemini-2.5-flash" }] });
      expect(change?.before).toEqual(before);
      const updated = change?.after;
      // Over a revision that has moved: nothing changes.
      expect(await store.replaceIf(null, "fast", before.revision, {})).toBeUndefined();
      expect(updated?.spec).toEqual({ targets: [{ provider: "gemini", model: "gemini-2.5-flash" }] });
      const r1 = await store.revision();
      expect(r1).not.toBe(r0);
      expect(await store.delete(null, "fast")).toEqual(updated);
      expect(await store.delete(null, "fast")).toBeUndefined();
      expect(await store.revision()).not.toBe(r1);
      expect(await store.get(null, "fast")).toBeUndefined();
      expect(await store.replaceIf(null, "fast", updated!.revision, {})).toBeUndefined();
      expect(await store.create(null, "fast", { targets: [] })).not.toBe("exists");
    });

    it("lists a scope in pages and loads every live route", async () => {
      for (const alias of ["a1", "a2", "a3"]) await store.create(orgId, alias, { description: alias });
      const first = await store.list(orgId, { limit: 2 });
      expect(first.items).toHaveLength(2);
      const second = await store.list(orgId, { limit: 2, ...(first.after ? { after: first.after } : {}) });
      const aliases = [...first.items, ...second.items].map((r) => r.alias);
      expect(aliases).toEqual(expect.arrayContaining(["fast", "a1", "a2", "a3"]));
      const all = await store.loadAll();
      expect(all.filter((r) => r.orgId === null).map((r) => r.alias).sort()).toEqual(["fast", "seeded"]);
    });
  });
}

describeRouteStore("PGlite", async () => ({ handle: await createDatabase({ dataDir: "memory://" }) }));

let pgDb: TestDatabase | undefined;
describeRouteStore("Postgres", async () => {
  pgDb = await createTestDatabase();
  return { handle: await createDatabase({ databaseUrl: pgDb.url }), drop: () => pgDb!.drop() };
});
