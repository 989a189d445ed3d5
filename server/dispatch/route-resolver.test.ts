import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { createRouteStore } from "../store/route-store.js";
import { createRouteResolver } from "./route-resolver.js";

let pg: TestDatabase;
let a: DatabaseHandle;
let b: DatabaseHandle;
beforeAll(async () => {
  pg = await createTestDatabase();
  a = await createDatabase({ databaseUrl: pg.url });
  b = await createDatabase({ databaseUrl: pg.url });
  await migrateToLatest(a.db);
  await a.db.insertInto("orgs").values({ id: "org_1", name: "acme" }).execute();
});
afterAll(async () => {
  await a.close();
  await b.close();
  await pg.drop();
});

describe("route resolver", () => {
  it("serves a change made on one replica on another within one poll interval, and shadows per org", async () => {
    const storeA = createRouteStore(a.db);
    const replicaB = createRouteResolver({ store: createRouteStore(b.db), pollMs: 100 });
    try {
      await replicaB.refresh();
      expect(replicaB.resolve("fast")).toBeUndefined();
      await storeA.create(null, "fast", { targets: [{ provider: "openai", model: "gpt-4o-mini", weight: 2 }], timeout: "5s" });
      const t0 = Date.now();
      while (replicaB.resolve("fast") === undefined && Date.now() - t0 < 2_000) await new Promise((r) => setTimeout(r, 20));
      const route = replicaB.resolve("fast");
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(route).toMatchObject({ alias: "fast", timeoutMs: 5_000, targets: [{ provider: "openai", model: "gpt-4o-mini", weight: 2, priority: 0 }] });
      expect(route!.retry.maxAttempts).toBe(2);

      await storeA.create("org_1", "fast", { targets: [{ provider: "anthropic", model: "claude-haiku" }] });
      await replicaB.refresh();
      expect(replicaB.resolve("fast", "org_1")!.targets[0]!.provider).toBe("anthropic");
      expect(replicaB.resolve("fast", "org_2")!.targets[0]!.provider).toBe("openai");
      expect(replicaB.resolve("fast")!.targets[0]!.provider).toBe("openai");

      await storeA.delete("org_1", "fast");
      await replicaB.refresh();
      expect(replicaB.resolve("fast", "org_1")!.targets[0]!.provider).toBe("openai");
    } finally {
      replicaB.close();
    }
  });

  it("serves a write at once after refresh(), even when a poll that read the routes before it is still running", async () => {
    const real = createRouteStore(b.db);
    let hold: Promise<void> | undefined;
    let read: (() => void) | undefined;
    // The real store, with the revision's answer held back once it is read: a poll in flight.
    const store = {
      loadAll: () => real.loadAll(),
      revision: async () => {
        const revision = await real.revision();
        read?.();
        await hold;
        return revision;
      },
    };
    const resolver = createRouteResolver({ store, pollMs: 60_000 });
    try {
      await resolver.refresh();
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      const revisionRead = new Promise<void>((r) => (read = r));
      const poll = resolver.refresh();
      await revisionRead; // the poll has read the revision
      read = undefined;
      await createRouteStore(a.db).create(null, "written", { targets: [{ provider: "openai", model: "gpt-4o-mini" }] });
      const mine = resolver.refresh();
      hold = undefined;
      release();
      await poll;
      await mine;
      expect(resolver.resolve("written")?.alias).toBe("written");
    } finally {
      resolver.close();
    }
  });
});
