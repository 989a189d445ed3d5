/**
 * Guardrail attachments left dangling before DeleteTeam and DeleteOrg refused while a policy is
 * attached: a release before that deleted a team (with its keys) or an org under a policy
 * attached to it, and the policy kept the attachment by the deleted id. It applies to nothing,
 * is still listed, and — matched by name — blocks deleting a team or org re-created under that
 * name. Migration 0012 prunes them from live policies (moving their revision, so replicas reload)
 * and leaves every other attachment and policy as it was.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateUpTo } from "../../test/support/migrated-database.js";
import { createTestDatabase } from "../../test/support/postgres.js";
import { requireEnv } from "../../test/support/require-env.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { createGuardrailPolicyStore, type GuardrailPolicyStore } from "./guardrail-policy-store.js";
import { createKeyStore } from "./key-store.js";
import { migrateToLatest } from "./migrate.js";
import type { OrgScope } from "./paging.js";
import type { GuardrailAttachmentRow } from "./schema.js";
import { createTenantStore, type TenantStore } from "./tenant-store.js";

const BEFORE = "0011_budget_counter_epoch";
const CLEANUP = "0012_dangling_guardrail_attachments";
const ALL: OrgScope = { allOrgs: true };
const blank = { displayName: "", labels: {} };
const spec = { rules: [] };

function describeCleanup(kind: string, open: () => Promise<{ handle: DatabaseHandle; drop?: () => Promise<void> }>): void {
  describe(`dangling guardrail attachments on ${kind}`, () => {
    let handle: DatabaseHandle;
    let drop: (() => Promise<void>) | undefined;
    let tenants: TenantStore;
    let policies: GuardrailPolicyStore;
    /** The deleted team, key and org's ids, so the dangling attachments can be told by id. */
    const gone = { team: "", key: "", org: "" };
    let before: { version: string; revisions: Map<string, bigint> };

    const attach = async (orgId: string | null, policyId: string, attachments: GuardrailAttachmentRow[], enabled = true) => {
      const outcome = await policies.create(orgId, policyId, { spec, attachments, enabled });
      if (outcome.kind !== "created") throw new Error(`${policyId}: ${outcome.kind}`);
      return outcome.record;
    };
    /** The count and revision sum replicas poll (`version()` also reads a table of a later migration). */
    const marker = async () => {
      const row = await handle.db
        .selectFrom("guardrail_policies")
        .select((eb) => [eb.fn.countAll<string>().as("n"), eb.fn.sum<string>("revision").as("s")])
        .executeTakeFirstOrThrow();
      return `${row.n}:${row.s}`;
    };
    const revisions = async () =>
      new Map((await handle.db.selectFrom("guardrail_policies").select(["id", "revision"]).execute()).map((r) => [r.id, BigInt(r.revision)]));

    beforeAll(async () => {
      ({ handle, drop } = await open());
      // The schema of the release before the cleanup, written to as that release could.
      await migrateUpTo(handle.db, BEFORE);
      tenants = createTenantStore(handle.db);
      policies = createGuardrailPolicyStore(handle.db);
      const keys = createKeyStore(handle.db);
      const org = async (name: string) => {
        const o = await tenants.createOrg(name, blank);
        if (o.kind !== "created") throw new Error(o.kind);
        return o.record.id;
      };
      const team = async (orgName: string, name: string) => {
        const t = await tenants.createTeam(orgName, name, ALL, blank);
        if (t.kind !== "created") throw new Error(t.kind);
        return t.record.id;
      };
      const acme = await org("acme");
      gone.org = await org("gone");
      gone.team = await team("acme", "app");
      const kept = await team("acme", "kept");
      const fields = { displayName: "", scopes: [], allowedRoutes: [], allowedModels: [], tags: {}, expiresAt: null };
      const key = await keys.createKey({ orgName: "acme", teamName: "app" }, "k", ALL, fields, { secretHmac: randomBytes(32).toString("hex"), displayPrefix: "sb_live_test" });
      if (key.kind !== "created") throw new Error(key.kind);
      gone.key = key.record.id;

      await attach(null, "mixed", [
        { name: "orgs/acme/teams/app", kind: "team", id: gone.team },
        { name: "orgs/acme/teams/kept", kind: "team", id: kept },
        { name: "orgs/acme/teams/app/keys/k", kind: "key", id: gone.key },
        { name: "orgs/gone/routes/chat", kind: "route", id: gone.org, alias: "chat" },
        { name: "routes/chat", kind: "route", id: null, alias: "chat" },
        { name: "orgs/gone", kind: "org", id: gone.org },
        { name: "orgs/acme", kind: "org", id: acme },
      ]);
      await attach(null, "untouched", [{ name: "orgs/acme/teams/kept", kind: "team", id: kept }], false);
      await attach(acme, "own", [{ name: "orgs/acme/teams/app", kind: "team", id: gone.team }], false);
      await attach(null, "deleted", [{ name: "orgs/acme/teams/app", kind: "team", id: gone.team }]);
      expect(await policies.delete(null, "deleted")).toMatchObject({ policyId: "deleted" });

      // What DeleteTeam and DeleteOrg did before they refused: the team with its keys, then the org.
      await handle.db.deleteFrom("keys").where("team_id", "=", gone.team).execute();
      await handle.db.deleteFrom("teams").where("id", "=", gone.team).execute();
      await handle.db.deleteFrom("orgs").where("id", "=", gone.org).execute();
      // Re-created under the same names, with new ids.
      await team("acme", "app");
      await org("gone");
      before = { version: await marker(), revisions: await revisions() };
    });
    afterAll(async () => {
      await handle?.close();
      await drop?.();
    });

    it("blocks deleting the re-created team and org before the cleanup (the state it fixes)", async () => {
      // Refused, so nothing is deleted.
      expect(await tenants.deleteTeam("acme", "app", ALL, new Date())).toEqual({
        policies: [
          { orgName: null, policyId: "mixed" },
          { orgName: "acme", policyId: "own" },
        ],
        total: 2,
      });
      expect(await tenants.deleteOrg("gone", ALL)).toEqual({ policies: [{ orgName: null, policyId: "mixed" }], total: 1 });
    });

    it(`${CLEANUP} prunes attachments to what no longer exists, in order, and moves those policies' revisions`, async () => {
      // The first of what was pending: later migrations run after it.
      expect((await migrateToLatest(handle.db))[0]).toBe(CLEANUP);
      const mixed = (await policies.get(null, "mixed"))!;
      expect(mixed.attachments.map((a) => a.name)).toEqual(["orgs/acme/teams/kept", "routes/chat", "orgs/acme"]);
      expect(mixed.revision).toBeGreaterThan(before.revisions.get(mixed.id)!);
      const own = (await policies.get((await tenants.getOrg("acme", ALL))!.id, "own"))!;
      expect(own.attachments).toEqual([]);
      expect(own.revision).toBeGreaterThan(before.revisions.get(own.id)!);
      expect(await marker()).not.toBe(before.version);
    });

    it("leaves a policy with no dangling attachment, and deleted policies, as they were", async () => {
      const untouched = (await policies.get(null, "untouched"))!;
      expect(untouched.attachments.map((a) => a.name)).toEqual(["orgs/acme/teams/kept"]);
      expect(untouched.revision).toBe(before.revisions.get(untouched.id));
      const deleted = await handle.db
        .selectFrom("guardrail_policies")
        .select(["id", "revision", "attachments"])
        .where("policy_id", "=", "deleted")
        .executeTakeFirstOrThrow();
      expect(BigInt(deleted.revision)).toBe(before.revisions.get(deleted.id));
      expect(deleted.attachments).toHaveLength(1);
    });

    it("lets the re-created team and org be deleted", async () => {
      expect(await tenants.deleteTeam("acme", "app", ALL, new Date())).toMatchObject({ deleted: { name: "app" } });
      expect(await tenants.deleteOrg("gone", ALL)).toMatchObject({ deleted: { name: "gone" } });
      // What still exists still holds: the live attachments were kept.
      expect(await tenants.deleteTeam("acme", "kept", ALL, new Date())).toMatchObject({ total: 2 });
    });

  });
}

describeCleanup("PGlite", async () => ({ handle: await createDatabase({ dataDir: "memory://" }) }));

describe("Postgres", () => {
  requireEnv("DATABASE_URL");
  describeCleanup("Postgres", async () => {
    const fresh = await createTestDatabase();
    return { handle: await createDatabase({ databaseUrl: fresh.url, pool: 2 }), drop: () => fresh.drop() };
  });
});
