/**
 * Prompt template attachments left dangling before DeleteTeam and DeleteOrg refused while a
 * template is attached: a release before that deleted a team (with its keys) or an org under a
 * template attached to it by name, and the template kept the name — governing whatever tenant is
 * given it next. Migration 0013 prunes from live templates the attachments naming what no longer
 * exists or was created after the template was last written (moving their revision, so replicas
 * reload), and leaves every other attachment and template as it was.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateUpTo } from "../../test/support/migrated-database.js";
import { createTestDatabase } from "../../test/support/postgres.js";
import { requireEnv } from "../../test/support/require-env.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { createKeyStore, type KeyStore } from "./key-store.js";
import { migrateToLatest } from "./migrate.js";
import type { OrgScope } from "./paging.js";
import { createPromptStore, type PromptStore } from "./prompt-store.js";
import { createTenantStore, type TenantStore } from "./tenant-store.js";

const BEFORE = "0012_dangling_guardrail_attachments";
const CLEANUP = "0013_dangling_prompt_attachments";
const ALL: OrgScope = { allOrgs: true };
const blank = { displayName: "", labels: {} };
const version = { messages: [{ role: "system" as const, template: "Be brief." }], variables: [], description: "", creator: "" };

function describeCleanup(kind: string, open: () => Promise<{ handle: DatabaseHandle; drop?: () => Promise<void> }>): void {
  describe(`dangling prompt attachments on ${kind}`, () => {
    let handle: DatabaseHandle;
    let drop: (() => Promise<void>) | undefined;
    let tenants: TenantStore;
    let prompts: PromptStore;
    let keys: KeyStore;
    let acme = "";
    let before: { fingerprint: string; revisions: Map<string, string> };

    const template = async (orgId: string | null, name: string, verb: string, attachments: string[]) => {
      const outcome = await prompts.createTemplate(orgId, { name, verb, description: "", attachments }, version);
      if (outcome.kind !== "created") throw new Error(`${name}: ${outcome.kind}`);
    };
    /** The count and revision sum replicas poll (`fingerprint()` also reads a table of a later migration). */
    const marker = async () => {
      const row = await handle.db
        .selectFrom("prompt_templates")
        .select((eb) => [eb.fn.countAll<string>().as("n"), eb.fn.sum<string>("revision").as("s")])
        .executeTakeFirstOrThrow();
      return `${row.n}:${row.s}`;
    };
    const revisions = async () =>
      new Map((await handle.db.selectFrom("prompt_templates").select(["id", "revision"]).execute()).map((r) => [r.id, String(r.revision)]));
    /** What DeleteTeam and DeleteOrg did before they refused: the team with its keys, the org. */
    const deleteTeam = async (orgName: string, name: string) => {
      const team = (await tenants.getTeam(orgName, name, ALL))!;
      await handle.db.deleteFrom("keys").where("team_id", "=", team.id).execute();
      await handle.db.deleteFrom("teams").where("id", "=", team.id).execute();
    };
    const deleteOrg = (name: string) => handle.db.deleteFrom("orgs").where("name", "=", name).execute();

    beforeAll(async () => {
      ({ handle, drop } = await open());
      // The schema of the release before the cleanup, written to as that release could.
      await migrateUpTo(handle.db, BEFORE);
      tenants = createTenantStore(handle.db);
      prompts = createPromptStore(handle.db);
      keys = createKeyStore(handle.db);
      const org = async (name: string) => {
        const o = await tenants.createOrg(name, blank);
        if (o.kind !== "created") throw new Error(o.kind);
        return o.record.id;
      };
      const team = async (orgName: string, name: string) => {
        const t = await tenants.createTeam(orgName, name, ALL, blank);
        if (t.kind !== "created") throw new Error(t.kind);
      };
      const key = async (teamName: string) => {
        const fields = { displayName: "", scopes: [], allowedRoutes: [], allowedModels: [], tags: {}, expiresAt: null };
        const k = await keys.createKey({ orgName: "acme", teamName }, "k", ALL, fields, { secretHmac: randomBytes(32).toString("hex"), displayPrefix: "sb_live_test" });
        if (k.kind !== "created") throw new Error(k.kind);
      };
      acme = await org("acme");
      for (const name of ["gone", "reborn", "rewritten"]) await org(name);
      await team("acme", "app");
      await team("acme", "kept");
      await key("app");
      await key("kept");

      await template(null, "mixed", "summarize", [
        "orgs/acme/teams/app",
        "orgs/acme/teams/kept",
        "orgs/acme/teams/app/keys/k",
        "orgs/acme/teams/kept/keys/k",
        "orgs/gone/routes/chat",
        "routes/chat",
        "orgs/gone",
        "orgs/reborn",
        "orgs/acme",
      ]);
      await template(null, "untouched", "chat", ["orgs/acme/teams/kept"]);
      await template(acme, "own", "summarize", ["orgs/acme/teams/app"]);
      await template(null, "rewritten", "chat", ["orgs/rewritten"]);
      await template(null, "deleted", "classify", ["orgs/acme/teams/app"]);
      expect(await prompts.deleteTemplate(null, "deleted")).toMatchObject({ name: "deleted" });

      await deleteTeam("acme", "app");
      for (const name of ["gone", "reborn", "rewritten"]) await deleteOrg(name);
      // Re-created under the same names by other tenants.
      await team("acme", "app");
      await key("app");
      await org("reborn");
      await org("rewritten");
      // Written again after its org was re-created: the rows cannot tell it from a new attachment.
      expect((await prompts.createVersion(null, "rewritten", version, true)).kind).toBe("created");
      before = { fingerprint: await marker(), revisions: await revisions() };
    });
    afterAll(async () => {
      await handle?.close();
      await drop?.();
    });

    it("lets a template attached to a deleted org govern the org given its name next (the state it fixes)", async () => {
      expect(await prompts.attachedTo(null, "summarize", ["orgs/reborn"])).toEqual([{ name: "mixed", attachments: ["orgs/reborn"] }]);
      expect(await tenants.deleteOrg("reborn", ALL)).toEqual({ templates: [{ orgName: null, name: "mixed" }], total: 1 });
    });

    it(`${CLEANUP} prunes attachments to what no longer exists or came after the template, in order, and moves those templates' revisions`, async () => {
      expect((await migrateToLatest(handle.db))[0]).toBe(CLEANUP);
      const mixed = (await prompts.getTemplate(null, "mixed"))!;
      expect(mixed.attachments).toEqual(["orgs/acme/teams/kept", "orgs/acme/teams/kept/keys/k", "routes/chat", "orgs/acme"]);
      expect((await revisions()).get(mixed.id)).not.toBe(before.revisions.get(mixed.id));
      const own = (await prompts.getTemplate(acme, "own"))!;
      expect(own.attachments).toEqual([]);
      expect((await revisions()).get(own.id)).not.toBe(before.revisions.get(own.id));
      expect(await marker()).not.toBe(before.fingerprint);
    });

    it("leaves a template with no dangling attachment, one written since its org came back, and deleted templates, as they were", async () => {
      const after = await revisions();
      for (const name of ["untouched", "rewritten"]) {
        const kept = (await prompts.getTemplate(null, name))!;
        expect(after.get(kept.id)).toBe(before.revisions.get(kept.id));
      }
      expect((await prompts.getTemplate(null, "rewritten"))!.attachments).toEqual(["orgs/rewritten"]);
      const deleted = await handle.db.selectFrom("prompt_templates").select(["id", "attachments"]).where("name", "=", "deleted").executeTakeFirstOrThrow();
      expect(after.get(deleted.id)).toBe(before.revisions.get(deleted.id));
      expect(deleted.attachments).toEqual(["orgs/acme/teams/app"]);
    });

    it("lets the re-created org be deleted; what still exists still holds", async () => {
      expect(await tenants.deleteOrg("reborn", ALL)).toMatchObject({ deleted: { name: "reborn" } });
      expect(await tenants.deleteOrg("rewritten", ALL)).toEqual({ templates: [{ orgName: null, name: "rewritten" }], total: 1 });
      await keys.revokeKey({ orgName: "acme", teamName: "kept", name: "k" }, ALL, new Date());
      expect(await tenants.deleteTeam("acme", "kept", ALL, new Date())).toEqual({
        templates: [
          { orgName: null, name: "mixed" },
          { orgName: null, name: "untouched" },
        ],
        total: 2,
      });
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
