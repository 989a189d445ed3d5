import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { createGuardrailPolicyStore, type GuardrailPolicyStore } from "../store/guardrail-policy-store.js";
import { migrateToLatest } from "../store/migrate.js";
import { createPolicyResolver } from "./policy-resolver.js";

describe("policy resolver peek", () => {
  let db: TestDatabase;
  let handle: DatabaseHandle;
  let store: GuardrailPolicyStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    handle = await createDatabase({ databaseUrl: db.url });
    await migrateToLatest(handle.db);
    await handle.db.insertInto("orgs").values({ id: "org_a", name: "acme" }).execute();
    store = createGuardrailPolicyStore(handle.db);
    const spec = { rules: [{ id: "deny", stage: "GUARDRAIL_STAGE_INPUT", action: "GUARDRAIL_ACTION_BLOCK", denyList: { phrases: ["nope"] } }] };
    await store.create("org_a", "p", { spec, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: true });
  });
  afterAll(async () => {
    await handle.close();
    await db.drop();
  });

  it("answers nothing before the first load, then what forCall answers, and follows changes by itself", async () => {
    let clock = 1_000_000;
    const resolver = createPolicyResolver({ store, pollMs: 1_000, now: () => clock });
    const meta = (orgId: string) => ({ route: "r", caller: { orgId, teamId: "t", keyId: "k" } });
    expect(resolver.peek(meta("org_a"))).toBeUndefined();
    expect((await resolver.forCall(meta("org_a"))).map((p) => p.name)).toEqual(["orgs/acme/guardrail-policies/p"]);
    expect(resolver.peek(meta("org_a"))?.map((p) => p.name)).toEqual(["orgs/acme/guardrail-policies/p"]);
    expect(resolver.peek(meta("org_b"))).toEqual([]);
    await store.update("org_a", "p", { spec: (await store.get("org_a", "p"))!.spec, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: false });
    clock += 1_000; // the snapshot is now stale: the next peek starts the version check
    const deadline = Date.now() + 10_000;
    while (resolver.peek(meta("org_a"))?.length !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(resolver.peek(meta("org_a"))).toEqual([]);
  });
});
