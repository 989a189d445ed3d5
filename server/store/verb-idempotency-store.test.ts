import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { migrateToLatest } from "./migrate.js";
import { createVerbIdempotencyStore, type VerbIdempotencyStore } from "./verb-idempotency-store.js";

let testDb: TestDatabase;
let handle: DatabaseHandle;
let store: VerbIdempotencyStore;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = await createDatabase({ databaseUrl: testDb.url, pool: 4 });
  await migrateToLatest(handle.db);
  store = createVerbIdempotencyStore(handle.db);
});
afterAll(async () => {
  await handle.close();
  await testDb.drop();
});

const key = (k: string, fingerprint = "f1") => ({ orgId: "org_a", key: k, method: "Chat", fingerprint });
const opts = { leaseMs: 60_000, retentionMs: 86_400_000 };

describe("verb idempotency store", () => {
  it("lets exactly one of many concurrent claims through", async () => {
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.claim(key("race"), opts)));
    expect(outcomes.filter((o) => o.kind === "claimed")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "in_flight")).toHaveLength(9);
  });

  it("returns the stored response, refuses another request, and forgets a released claim", async () => {
    expect(await store.claim(key("k1"), opts)).toEqual({ kind: "claimed" });
    await store.complete("org_a", "k1", new Uint8Array([1, 2, 3]));
    expect(await store.claim(key("k1"), opts)).toEqual({ kind: "done", response: new Uint8Array([1, 2, 3]) });
    expect(await store.claim(key("k1", "other"), opts)).toEqual({ kind: "mismatch" });
    expect(await store.claim({ ...key("k1"), orgId: "org_b" }, opts)).toEqual({ kind: "claimed" });
    expect(await store.claim(key("k2"), opts)).toEqual({ kind: "claimed" });
    await store.release("org_a", "k2");
    expect(await store.claim(key("k2"), opts)).toEqual({ kind: "claimed" });
  });

  it("takes over a claim whose lease ran out, and treats records past retention as absent", async () => {
    expect(await store.claim(key("lapsed"), { ...opts, leaseMs: 1 })).toEqual({ kind: "claimed" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.claim(key("lapsed"), opts)).toEqual({ kind: "claimed" });
    expect(await store.claim(key("lapsed"), opts)).toEqual({ kind: "in_flight" });
    await store.complete("org_a", "lapsed", new Uint8Array([9]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.claim(key("lapsed", "new request"), { ...opts, retentionMs: 10 })).toEqual({ kind: "claimed" });
    expect(await store.purgeExpired(0)).toBeGreaterThan(0);
  });
});
