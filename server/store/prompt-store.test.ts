import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { migrateToLatest } from "./migrate.js";
import { createPromptStore, type NewPromptVersion, type PromptStore } from "./prompt-store.js";

const version = (text: string): NewPromptVersion => ({
  messages: [
    { role: "system", template: `Summarize. ${text}` },
    { role: "user", template: "{{text}}" },
  ],
  variables: ["text"],
  description: text,
  creator: "orgs/acme/teams/admins/keys/root",
});
const template = (name: string, attachments: string[] = []) => ({ name, verb: "summarize", description: `about ${name}`, attachments });

function describePromptStore(kind: string, open: () => Promise<{ handle: DatabaseHandle; drop?: () => Promise<void> }>): void {
  describe(`prompt store on ${kind}`, () => {
    let handle: DatabaseHandle;
    let drop: (() => Promise<void>) | undefined;
    let store: PromptStore;
    const orgId = "org_prompt_test";
    beforeAll(async () => {
      ({ handle, drop } = await open());
      await migrateToLatest(handle.db);
      await handle.db.insertInto("orgs").values({ id: orgId, name: "acme" }).execute();
      // What the attachments below name: a write locks them, and refuses one that does not exist.
      for (const team of ["a", "b"]) await handle.db.insertInto("teams").values({ id: `team_prompt_${team}`, org_id: orgId, name: team }).execute();
      store = createPromptStore(handle.db);
    });
    afterAll(async () => {
      await handle.close();
      await drop?.();
    });

    it("creates a template with version 1 active; a name is unique per scope", async () => {
      const made = await store.createTemplate(orgId, template("tone", ["orgs/acme"]), version("v1"));
      expect(made.kind).toBe("created");
      if (made.kind !== "created") return;
      expect(made.record.template).toMatchObject({ orgId, orgName: "acme", name: "tone", verb: "summarize", activeVersion: 1, latestVersion: 1, attachments: ["orgs/acme"] });
      expect(made.record.version).toMatchObject({ version: 1, variables: ["text"], description: "v1", creator: "orgs/acme/teams/admins/keys/root" });
      expect(made.record.version.messages[1]).toEqual({ role: "user", template: "{{text}}" });
      expect((await store.createTemplate(orgId, template("tone"), version("again"))).kind).toBe("exists");
      expect((await store.createTemplate(null, template("tone"), version("global"))).kind).toBe("created");
      expect((await store.getTemplate(null, "tone"))?.orgId).toBeNull();
    });

    it("numbers versions, activates only when asked, and rolls back by activating an older one", async () => {
      const v2 = await store.createVersion(orgId, "tone", version("v2"), false);
      expect(v2.kind === "created" && v2.record.template).toMatchObject({ activeVersion: 1, latestVersion: 2 });
      const v3 = await store.createVersion(orgId, "tone", version("v3"), true);
      expect(v3.kind === "created" && v3.record.template).toMatchObject({ activeVersion: 3, latestVersion: 3 });
      expect(await store.activateVersion(orgId, "tone", 1)).toMatchObject({ before: { activeVersion: 3 }, after: { activeVersion: 1, latestVersion: 3 } });
      expect(await store.activateVersion(orgId, "tone", 9)).toBe("version_not_found");
      expect(await store.activateVersion(orgId, "nope", 1)).toBe("template_not_found");
      expect((await store.createVersion(orgId, "nope", version("x"), false)).kind).toBe("not_found");
      expect((await store.getVersion(orgId, "tone", 2))?.version.description).toBe("v2");
      expect(await store.getVersion(orgId, "tone", 4)).toBeUndefined();
    });

    it("lists versions newest first, in pages", async () => {
      const first = await store.listVersions(orgId, "tone", { limit: 2 });
      expect(first?.items.map((v) => v.version)).toEqual([3, 2]);
      const second = await store.listVersions(orgId, "tone", { limit: 2, ...(first?.after ? { after: first.after } : {}) });
      expect(second?.items.map((v) => v.version)).toEqual([1]);
      expect(second?.after).toBeUndefined();
      expect(await store.listVersions(orgId, "nope", { limit: 2 })).toBeUndefined();
    });

    it("lists templates of one scope in pages, optionally of one verb", async () => {
      for (const name of ["p1", "p2", "p3"]) await store.createTemplate(orgId, template(name), version(name));
      await store.createTemplate(orgId, { ...template("chatty"), verb: "chat" }, { ...version("c"), messages: [{ role: "system", template: "Be brief." }], variables: [] });
      const first = await store.listTemplates(orgId, { limit: 3 });
      const second = await store.listTemplates(orgId, { limit: 3, ...(first.after ? { after: first.after } : {}) });
      expect([...first.items, ...second.items].map((t) => t.name)).toEqual(["tone", "p1", "p2", "p3", "chatty"]);
      expect((await store.listTemplates(orgId, { limit: 10 }, { verb: "chat" })).items.map((t) => t.name)).toEqual(["chatty"]);
      expect((await store.listTemplates(null, { limit: 10 })).items.map((t) => t.name)).toEqual(["tone"]);
    });

    it("updates description and attachments, and finds attachment holders per scope and verb", async () => {
      const updated = await store.updateTemplate(orgId, "p1", { attachments: ["orgs/acme/teams/a", "routes/fast"] });
      expect(updated).toMatchObject({ before: { attachments: [] }, after: { description: "about p1", attachments: ["orgs/acme/teams/a", "routes/fast"] } });
      expect(await store.updateTemplate(orgId, "p1", { description: "new" })).toMatchObject({ after: { description: "new", attachments: ["orgs/acme/teams/a", "routes/fast"] } });
      expect(await store.attachedTo(orgId, "summarize", ["routes/fast", "orgs/acme/teams/b"])).toEqual([{ name: "p1", attachments: ["routes/fast"] }]);
      expect(await store.attachedTo(orgId, "summarize", ["routes/fast"], "p1")).toEqual([]);
      expect(await store.attachedTo(orgId, "chat", ["routes/fast"])).toEqual([]);
      expect(await store.attachedTo(null, "summarize", ["routes/fast"])).toEqual([]);
      expect(await store.updateTemplate(orgId, "nope", { description: "x" })).toBeUndefined();
      // A second holder of one scope and verb is refused, by update and by create alike.
      const taken = { kind: "attached", holder: { name: "p1", attachments: ["routes/fast"] } };
      expect(await store.updateTemplate(orgId, "p2", { attachments: ["orgs/acme/teams/b", "routes/fast"] })).toEqual(taken);
      expect(await store.createTemplate(orgId, template("p9", ["routes/fast"]), version("p9"))).toEqual(taken);
      expect((await store.getTemplate(orgId, "p2"))?.attachments).toEqual([]);
      // An org, team or key deleted since the caller checked it is `gone`; a route is not held.
      expect(await store.updateTemplate(orgId, "p2", { attachments: ["routes/other", "orgs/acme/teams/gone"] })).toEqual({ kind: "gone", name: "orgs/acme/teams/gone" });
      expect(await store.createTemplate(orgId, template("p8", ["orgs/acme/teams/a/keys/gone"]), version("p8"))).toEqual({ kind: "gone", name: "orgs/acme/teams/a/keys/gone" });
      expect((await store.getTemplate(orgId, "p2"))?.attachments).toEqual([]);
    });

    it("moves the fingerprint on every change and loads each live template with its active version", async () => {
      const f0 = await store.fingerprint();
      await store.activateVersion(orgId, "tone", 2);
      const f1 = await store.fingerprint();
      expect(f1).not.toBe(f0);
      const loaded = await store.loadActive();
      const tone = loaded.find((p) => p.template.orgId === orgId && p.template.name === "tone");
      expect(tone?.version).toMatchObject({ version: 2, description: "v2" });
      expect(await store.deleteTemplate(orgId, "p3")).toMatchObject({ name: "p3" });
      expect(await store.fingerprint()).not.toBe(f1);
      expect((await store.loadActive()).some((p) => p.template.name === "p3")).toBe(false);
    });

    it("deletes softly: the name is free again, with a new identity and versions from 1", async () => {
      const before = await store.getTemplate(orgId, "p2");
      expect(await store.deleteTemplate(orgId, "p2")).toEqual(before);
      expect(await store.deleteTemplate(orgId, "p2")).toBeUndefined();
      expect(await store.getTemplate(orgId, "p2")).toBeUndefined();
      const again = await store.createTemplate(orgId, template("p2"), version("fresh"));
      expect(again.kind === "created" && again.record.template.id).not.toBe(before?.id);
      expect(await store.versionOf(before!.id, 1)).toMatchObject({ description: "p2" });
    });

    it("never changes a version: the database rejects UPDATE and DELETE of a version row", async () => {
      const tone = (await store.getTemplate(orgId, "tone"))!;
      await expect(sql`update prompt_versions set description = 'tampered' where template_id = ${tone.id}`.execute(handle.db)).rejects.toThrow(/immutable/);
      await expect(sql`delete from prompt_versions where template_id = ${tone.id} and version = 1`.execute(handle.db)).rejects.toThrow(/immutable/);
      expect((await store.versionOf(tone.id, 1))?.description).toBe("v1");
    });

    it("removes an org's templates and versions with the org", async () => {
      await handle.db.insertInto("orgs").values({ id: "org_gone", name: "gone" }).execute();
      await store.createTemplate("org_gone", template("t"), version("v1"));
      await store.createVersion("org_gone", "t", version("v2"), true);
      await handle.db.deleteFrom("orgs").where("id", "=", "org_gone").execute();
      expect(await handle.db.selectFrom("prompt_templates").select("id").where("org_id", "=", "org_gone").execute()).toEqual([]);
    });
  });
}

describePromptStore("PGlite", async () => ({ handle: await createDatabase({ dataDir: "memory://" }) }));

let pgDb: TestDatabase | undefined;
describePromptStore("Postgres", async () => {
  pgDb = await createTestDatabase();
  return { handle: await createDatabase({ databaseUrl: pgDb.url }), drop: () => pgDb!.drop() };
});
