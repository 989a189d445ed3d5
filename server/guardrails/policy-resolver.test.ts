import { Code, ConnectError } from "@connectrpc/connect";
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
    const current = (await store.get("org_a", "p"))!;
    await store.update("org_a", "p", current.revision, { spec: current.spec, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: false });
    clock += 1_000; // the snapshot is now stale: the next peek starts the version check
    const deadline = Date.now() + 10_000;
    while (resolver.peek(meta("org_a"))?.length !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(resolver.peek(meta("org_a"))).toEqual([]);
  });

  it("enforces a policy created on another replica on the first call more than pollMs after it, however long this replica was idle (README: within 1 s)", async () => {
    // Loads follow only a change of the store's version; counted as each completes (the index is
    // swapped in on the same turn), so the test waits for the replica's own poll, not a clock.
    const policies = createGuardrailPolicyStore(handle.db);
    let loads = 0;
    const counted = { version: () => policies.version(), loadEnabled: () => policies.loadEnabled().then((records) => (loads++, records)) };
    const replica = createPolicyResolver({ store: counted, pollMs: 50 });
    const meta = { route: "idle", caller: { orgId: "org_a", teamId: "t", keyId: "k" } };
    const names = async () => (await replica.forCall(meta)).map((p) => p.name);
    /** Until the replica loaded a change made after `before`, with no call on it meanwhile. */
    const polled = (before: number) => expect.poll(() => loads, { timeout: 5_000, interval: 20 }).toBeGreaterThan(before);
    try {
      expect(await names()).not.toContain("orgs/acme/guardrail-policies/idle-key");
      const spec = { rules: [{ id: "deny", stage: "GUARDRAIL_STAGE_INPUT", action: "GUARDRAIL_ACTION_BLOCK", denyList: { phrases: ["secret"] } }] };
      let before = loads;
      expect(await store.create("org_a", "idle-key", { spec, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: true })).toHaveProperty("kind", "created");
      await polled(before);
      expect(await names()).toContain("orgs/acme/guardrail-policies/idle-key");
      before = loads;
      await store.delete("org_a", "idle-key");
      await polled(before);
      expect(await names()).not.toContain("orgs/acme/guardrail-policies/idle-key");
    } finally {
      replica.close();
    }
  });

  it("still follows changes within the poll after the clock stepped back", async () => {
    let clock = 1_000_000;
    const resolver = createPolicyResolver({ store, pollMs: 1_000, now: () => clock });
    const meta = { route: "r", caller: { orgId: "org_a", teamId: "t", keyId: "k" } };
    await resolver.forCall(meta);
    const before = resolver.peek(meta)!.length;
    const current = (await store.get("org_a", "p"))!;
    await store.update("org_a", "p", current.revision, { spec: current.spec, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: !current.enabled });
    clock -= 60_000; // NTP steps the clock back a minute: the snapshot now reads as checked in the future
    clock += 1_000;
    const deadline = Date.now() + 2_000;
    while (resolver.peek(meta)?.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(resolver.peek(meta)?.length).not.toBe(before);
    const changed = (await store.get("org_a", "p"))!;
    await store.update("org_a", "p", changed.revision, { spec: changed.spec, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: current.enabled });
    resolver.close();
  });

  it("applies an org's policy on a global route to that org's calls only, a global one to every org's, and each attachment by its own id", async () => {
    await handle.db.insertInto("orgs").values([{ id: "org_b", name: "bravo" }, { id: "org_c", name: "charlie" }]).execute();
    // A write locks what it attaches to, and refuses an attachment whose target does not exist.
    await handle.db.insertInto("teams").values([{ id: "team_x", org_id: "org_b", name: "tx" }, { id: "team_t", org_id: "org_b", name: "t" }]).execute();
    await handle.db.insertInto("keys").values({ id: "key_y", org_id: "org_b", team_id: "team_t", name: "ky", display_prefix: "sb_live_test", secret_hmac: "0".repeat(64) }).execute();
    const spec = { rules: [{ id: "deny", stage: "GUARDRAIL_STAGE_INPUT", action: "GUARDRAIL_ACTION_BLOCK", denyList: { phrases: ["nope"] } }] };
    const attach = async (orgId: string | null, policyId: string, attachment: { name: string; kind: "org" | "team" | "key" | "route"; id: string | null; alias?: string }) =>
      expect((await store.create(orgId, policyId, { spec, attachments: [attachment], enabled: true })).kind).toBe("created");
    await attach("org_b", "mine", { name: "routes/shared", kind: "route", id: null, alias: "shared" });
    await attach(null, "everyone", { name: "routes/shared", kind: "route", id: null, alias: "shared" });
    await attach("org_b", "own-route", { name: "orgs/bravo/routes/r2", kind: "route", id: "org_b", alias: "r2" });
    await attach("org_b", "team", { name: "orgs/bravo/teams/tx", kind: "team", id: "team_x" });
    await attach("org_b", "key", { name: "orgs/bravo/teams/t/keys/ky", kind: "key", id: "key_y" });
    const resolver = createPolicyResolver({ store });
    const names = async (route: string, caller?: { orgId: string; teamId: string; keyId: string }) =>
      (await resolver.forCall({ route, ...(caller === undefined ? {} : { caller }) })).map((p) => p.name.split("/").pop()).sort();
    const bravo = { orgId: "org_b", teamId: "t", keyId: "k" };
    const charlie = { orgId: "org_c", teamId: "t", keyId: "k" };
    expect(await names("shared", bravo)).toEqual(["everyone", "mine"]);
    expect(await names("shared", charlie)).toEqual(["everyone"]);
    expect(await names("shared")).toEqual(["everyone"]);
    expect(await names("r2", bravo)).toEqual(["own-route"]);
    expect(await names("r2", charlie)).toEqual([]);
    expect(await names("x", { ...bravo, teamId: "team_x" })).toEqual(["team"]);
    expect(await names("x", { ...bravo, keyId: "key_y" })).toEqual(["key"]);
    expect(await names("x", { ...bravo, teamId: "key_y", keyId: "team_x" })).toEqual([]);
  });
});

describe("policy resolver first load", () => {
  const meta = { route: "r", caller: { orgId: "org_a", teamId: "t", keyId: "k" } };
  const codeOf = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => ConnectError.from(e).code);

  it("fails closed (Unavailable) while the policies were never loaded, whether the store fails or hangs", async () => {
    let mode: "down" | "hang" = "down";
    const errors: unknown[] = [];
    const resolver = createPolicyResolver({
      store: {
        version: () => (mode === "down" ? Promise.reject(new Error("ECONNREFUSED")) : new Promise<never>(() => undefined)),
        loadEnabled: () => Promise.resolve([]),
      },
      firstLoadTimeoutMs: 100,
      onError: (err) => errors.push(err),
    });
    expect(await codeOf(resolver.forCall(meta))).toBe(Code.Unavailable);
    expect(errors).toHaveLength(1);
    mode = "hang";
    expect(await codeOf(resolver.forCall(meta))).toBe(Code.Unavailable);
    expect(resolver.peek(meta)).toBeUndefined();
  });
});

describe("policy resolver, a stored policy that does not compile", () => {
  let db: TestDatabase;
  let handle: DatabaseHandle;
  let store: GuardrailPolicyStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    handle = await createDatabase({ databaseUrl: db.url });
    await migrateToLatest(handle.db);
    await handle.db.insertInto("orgs").values([{ id: "org_a", name: "acme" }, { id: "org_b", name: "bravo" }]).execute();
    store = createGuardrailPolicyStore(handle.db);
  });
  afterAll(async () => {
    await handle.close();
    await db.drop();
  });

  const denyList = { rules: [{ id: "deny", stage: "GUARDRAIL_STAGE_INPUT", action: "GUARDRAIL_ACTION_BLOCK", denyList: { phrases: ["nope"] } }] };
  // Lookaround: refused by the compiler, so only a row written past the service (or by a version
  // whose compiler accepted it, before an upgrade) holds it.
  const stricter = { rules: [{ id: "code", stage: "GUARDRAIL_STAGE_INPUT", action: "GUARDRAIL_ACTION_BLOCK", regex: { pattern: "nightingale(?=x)" } }] };
  const meta = (orgId: string) => ({ route: "r", caller: { orgId, teamId: "t", keyId: "k" } });
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => "passed",
      (e: unknown) => {
        const err = ConnectError.from(e);
        return { code: Code[err.code], message: err.rawMessage };
      },
    );

  it("refuses the calls it governs (FailedPrecondition naming it, not its rules) until it is fixed; other orgs' calls are unaffected", async () => {
    await store.create("org_a", "strict", { spec: stricter, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: true });
    await store.create("org_a", "fine", { spec: denyList, attachments: [{ name: "orgs/acme", kind: "org", id: "org_a" }], enabled: true });
    await store.create("org_b", "own", { spec: denyList, attachments: [{ name: "orgs/bravo", kind: "org", id: "org_b" }], enabled: true });
    const broken: Array<{ policy: string; err: unknown }> = [];
    const resolver = createPolicyResolver({ store, onBroken: (policy, err) => broken.push({ policy, err }) });

    const refused = await refusal(resolver.forCall(meta("org_a")));
    expect(refused).toEqual({ code: "FailedPrecondition", message: expect.stringContaining("orgs/acme/guardrail-policies/strict") as string });
    expect(JSON.stringify(refused)).not.toContain("nightingale");
    // A stream's stages peek first: an unknown answer sends them to `forCall`, never past the guardrails.
    expect(resolver.peek(meta("org_a"))).toBeUndefined();
    expect(broken.map((b) => b.policy)).toEqual(["orgs/acme/guardrail-policies/strict"]);
    expect(resolver.brokenPolicies()).toBe(1);
    expect((await resolver.forCall(meta("org_b"))).map((p) => p.name)).toEqual(["orgs/bravo/guardrail-policies/own"]);
    expect(resolver.peek(meta("org_b"))?.map((p) => p.name)).toEqual(["orgs/bravo/guardrail-policies/own"]);

    // The operator's fix (here: a spec this version compiles) puts it back in force.
    const current = (await store.get("org_a", "strict"))!;
    await store.update("org_a", "strict", current.revision, { spec: denyList, attachments: current.attachments, enabled: true });
    await resolver.refresh();
    expect((await resolver.forCall(meta("org_a"))).map((p) => p.name).sort()).toEqual(["orgs/acme/guardrail-policies/fine", "orgs/acme/guardrail-policies/strict"]);
    expect(resolver.brokenPolicies()).toBe(0);
  });
});
