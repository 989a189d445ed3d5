/**
 * Tenant isolation and admin rules through the whole gateway: an org admin sees and changes only
 * its own org (another org's resources are NotFound, as if absent), cannot grant what it lacks,
 * and cannot create or delete orgs; a platform admin can do all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/ts/switchboard/v1/key_service_pb.js";
import { Scope } from "../../gen/ts/switchboard/v1/options_pb.js";
import { clientsFor, outcome, type KeyedClients } from "../support/clients.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

const mask = (...paths: string[]) => ({ paths });

const ORG_ADMIN = [Scope.TENANTS_READ, Scope.TENANTS_WRITE, Scope.KEYS_READ, Scope.KEYS_WRITE, Scope.INVOKE];

/**
 * The suite, on a fresh database of `engine`. It runs on Postgres and on the embedded PGlite,
 * whose single session serializes transactions differently: the rules must not depend on it.
 */
function describeTenancy(engine: "postgres" | "pglite"): void {
  let database: TestDatabase | undefined;
  let gw: TestGateway;
  let platform: KeyedClients;
  let adminA: KeyedClients;
  let adminB: KeyedClients;
  let appB: string;

  beforeAll(async () => {
    if (engine === "postgres") database = await createTestDatabase();
    gw = await startTestGateway(database ? { databaseUrl: database.url } : {});
    platform = clientsFor(gw.url, gw.adminKey);
    for (const org of ["alpha", "bravo"]) {
      await platform.tenants.createOrg({ orgId: org, org: { displayName: org.toUpperCase(), labels: { tier: "gold" } } });
      await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "admins", team: {} });
      await platform.tenants.createTeam({ parent: `orgs/${org}`, teamId: "app", team: {} });
    }
    const mint = async (org: string) =>
      (await platform.keys.createKey({ parent: `orgs/${org}/teams/admins`, keyId: "admin", key: { scopes: ORG_ADMIN } })).secret;
    adminA = clientsFor(gw.url, await mint("alpha"));
    adminB = clientsFor(gw.url, await mint("bravo"));
    appB = (await adminB.keys.createKey({ parent: "orgs/bravo/teams/app", keyId: "web", key: { scopes: [Scope.INVOKE] } })).key!.name;
  });
  afterAll(async () => {
    await gw?.close();
    await database?.drop();
  });

  describe("an org admin", () => {
    it("sees only its own org", async () => {
      const listed = await adminA.tenants.listOrgs({});
      expect(listed.orgs.map((o) => o.name)).toEqual(["orgs/alpha"]);
      expect((await adminA.tenants.getOrg({ name: "orgs/alpha" })).org?.labels).toEqual({ tier: "gold" });
      expect(await outcome(adminA.tenants.getOrg({ name: "orgs/bravo" }))).toBe("NotFound");
      expect(await outcome(adminA.tenants.getOrg({ name: "orgs/nonexistent" }))).toBe("NotFound");
    });

    it("cannot read or change another org's teams or keys: NotFound, exactly like a missing one", async () => {
      const attempts: Record<string, () => Promise<unknown>> = {
        updateOrg: () => adminA.tenants.updateOrg({ org: { name: "orgs/bravo", displayName: "pwned" }, updateMask: mask("display_name") }),
        getTeam: () => adminA.tenants.getTeam({ name: "orgs/bravo/teams/app" }),
        listTeams: () => adminA.tenants.listTeams({ parent: "orgs/bravo" }),
        createTeam: () => adminA.tenants.createTeam({ parent: "orgs/bravo", teamId: "intruders", team: {} }),
        updateTeam: () => adminA.tenants.updateTeam({ team: { name: "orgs/bravo/teams/app", displayName: "x" }, updateMask: mask("display_name") }),
        deleteTeam: () => adminA.tenants.deleteTeam({ name: "orgs/bravo/teams/app" }),
        getKey: () => adminA.keys.getKey({ name: appB }),
        listKeys: () => adminA.keys.listKeys({ parent: "orgs/bravo/teams/-" }),
        listTeamKeys: () => adminA.keys.listKeys({ parent: "orgs/bravo/teams/app" }),
        createKey: () => adminA.keys.createKey({ parent: "orgs/bravo/teams/app", key: { scopes: [Scope.INVOKE] } }),
        updateKey: () => adminA.keys.updateKey({ key: { name: appB, scopes: [Scope.INVOKE] }, updateMask: mask("scopes") }),
        rotateKey: () => adminA.keys.rotateKey({ name: appB }),
        revokeKey: () => adminA.keys.revokeKey({ name: appB }),
      };
      for (const [name, attempt] of Object.entries(attempts)) expect([name, await outcome(attempt())]).toEqual([name, "NotFound"]);
      // Nothing changed in bravo.
      const team = await adminB.tenants.getTeam({ name: "orgs/bravo/teams/app" });
      expect(team.team?.displayName).toBe("");
      expect((await adminB.keys.getKey({ name: appB })).key?.state).toBe(KeyState.ACTIVE);
      expect((await adminB.tenants.listTeams({ parent: "orgs/bravo" })).teams.map((t) => t.name)).toEqual([
        "orgs/bravo/teams/admins",
        "orgs/bravo/teams/app",
      ]);
    });

    it("cannot create or delete orgs", async () => {
      expect(await outcome(adminA.tenants.createOrg({ orgId: "charlie", org: {} }))).toBe("PermissionDenied");
      expect(await outcome(adminA.tenants.deleteOrg({ name: "orgs/alpha" }))).toBe("PermissionDenied");
    });

    it("cannot grant a scope it does not hold, nor mint a platform admin", async () => {
      const create = (scopes: Scope[]) => adminA.keys.createKey({ parent: "orgs/alpha/teams/app", key: { scopes } });
      expect(await outcome(create([Scope.AUDIT_READ]))).toBe("PermissionDenied");
      expect(await outcome(create([Scope.PLATFORM_ADMIN]))).toBe("PermissionDenied");
      const err = await create([Scope.INVOKE, Scope.CREDENTIALS_WRITE]).catch((e: { rawMessage: string }) => e);
      expect((err as { rawMessage: string }).rawMessage).toContain("SCOPE_CREDENTIALS_WRITE");
      const ok = await create([Scope.INVOKE, Scope.KEYS_READ]);
      expect(ok.secret).not.toBe("");
      expect(
        await outcome(adminA.keys.updateKey({ key: { name: ok.key!.name, scopes: [Scope.BUDGETS_WRITE] }, updateMask: mask("scopes") })),
      ).toBe("PermissionDenied");
    });

    it("cannot take over a stronger key in its own org by rotating, changing or revoking it", async () => {
      const strong = await platform.keys.createKey({
        parent: "orgs/alpha/teams/admins",
        keyId: "strong",
        key: { scopes: [...ORG_ADMIN, Scope.AUDIT_READ] },
      });
      expect(await outcome(adminA.keys.getKey({ name: strong.key!.name }))).toBe("ok");
      expect(await outcome(adminA.keys.rotateKey({ name: strong.key!.name }))).toBe("PermissionDenied");
      expect(await outcome(adminA.keys.revokeKey({ name: strong.key!.name }))).toBe("PermissionDenied");
      expect(
        await outcome(adminA.keys.updateKey({ key: { name: strong.key!.name, displayName: "x" }, updateMask: mask("display_name") })),
      ).toBe("PermissionDenied");
    });

    it("narrows routes and models: a restricted key only grants a subset", async () => {
      const restricted = await platform.keys.createKey({
        parent: "orgs/alpha/teams/admins",
        key: { scopes: ORG_ADMIN, allowedRoutes: ["fast"], allowedModels: ["gpt-4o-mini"] },
      });
      const limited = clientsFor(gw.url, restricted.secret);
      const make = (allowedRoutes: string[], allowedModels: string[]) =>
        outcome(limited.keys.createKey({ parent: "orgs/alpha/teams/app", key: { scopes: [Scope.INVOKE], allowedRoutes, allowedModels } }));
      expect(await make([], ["gpt-4o-mini"])).toBe("PermissionDenied");
      expect(await make(["fast", "smart"], ["gpt-4o-mini"])).toBe("PermissionDenied");
      expect(await make(["fast"], [])).toBe("PermissionDenied");
      expect(await make(["fast"], ["gpt-4o-mini"])).toBe("ok");
    });

    it("manages its own org: update with a field mask, paging, delete rules", async () => {
      const updated = await adminA.tenants.updateOrg({
        org: { name: "orgs/alpha", displayName: "Alpha Inc", labels: { tier: "ignored" } },
        updateMask: mask("display_name"),
      });
      expect(updated.org).toMatchObject({ displayName: "Alpha Inc", labels: { tier: "gold" } });
      expect(updated.org!.updateTime!.seconds).toBeGreaterThanOrEqual(updated.org!.createTime!.seconds);
      expect(await outcome(adminA.tenants.updateOrg({ org: { name: "orgs/alpha" }, updateMask: mask("name") }))).toBe("InvalidArgument");

      for (const team of ["t1", "t2", "t3", "t4", "t5"]) await adminA.tenants.createTeam({ parent: "orgs/alpha", teamId: team, team: {} });
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await adminA.tenants.listTeams({ parent: "orgs/alpha", pageSize: 3, pageToken });
        seen.push(...page.teams.map((t) => t.name.split("/").pop()!));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken !== "");
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(["admins", "app", "t1", "t2", "t3", "t4", "t5"]);
      const first = await adminA.tenants.listTeams({ parent: "orgs/alpha", pageSize: 1 });
      expect(await outcome(adminA.tenants.listTeams({ parent: "orgs/bravo", pageToken: first.nextPageToken }))).toBe("InvalidArgument");
      expect(await outcome(adminA.tenants.listTeams({ parent: "orgs/alpha", pageToken: "garbage" }))).toBe("InvalidArgument");

      // A team with an active key cannot be deleted; once the key is revoked it can.
      const key = await adminA.keys.createKey({ parent: "orgs/alpha/teams/t1", key: { scopes: [Scope.INVOKE] } });
      expect(await outcome(adminA.tenants.deleteTeam({ name: "orgs/alpha/teams/t1" }))).toBe("FailedPrecondition");
      await adminA.keys.revokeKey({ name: key.key!.name });
      expect(await outcome(adminA.tenants.deleteTeam({ name: "orgs/alpha/teams/t1" }))).toBe("ok");
      expect(await outcome(adminA.tenants.getTeam({ name: "orgs/alpha/teams/t1" }))).toBe("NotFound");
      expect(await outcome(adminA.tenants.createTeam({ parent: "orgs/alpha", teamId: "t2", team: {} }))).toBe("AlreadyExists");
    });
  });

  describe("a platform admin", () => {
    it("reads and changes every org", async () => {
      const orgs = await platform.tenants.listOrgs({});
      expect(orgs.orgs.map((o) => o.name)).toEqual(expect.arrayContaining(["orgs/system", "orgs/alpha", "orgs/bravo"]));
      expect((await platform.keys.getKey({ name: appB })).key?.name).toBe(appB);
      const all = await platform.keys.listKeys({ parent: "orgs/bravo/teams/-" });
      expect(all.keys.map((k) => k.name)).toEqual(["orgs/bravo/teams/admins/keys/admin", appB]);
      const team = await platform.tenants.updateTeam({
        team: { name: "orgs/bravo/teams/app", labels: { owner: "platform" } },
        updateMask: mask("labels"),
      });
      expect(team.team?.labels).toEqual({ owner: "platform" });
    });

    it("creates orgs idempotently and deletes only empty ones", async () => {
      const request = { orgId: "charlie", org: { displayName: "Charlie" }, requestId: "create-charlie" };
      const [one, two] = await Promise.all([platform.tenants.createOrg(request), platform.tenants.createOrg(request)]);
      expect(one.org?.createTime).toEqual(two.org?.createTime);
      expect(await outcome(platform.tenants.createOrg({ orgId: "charlie", org: {} }))).toBe("AlreadyExists");
      await platform.tenants.createTeam({ parent: "orgs/charlie", teamId: "only", team: {} });
      expect(await outcome(platform.tenants.deleteOrg({ name: "orgs/charlie" }))).toBe("FailedPrecondition");
      await platform.tenants.deleteTeam({ name: "orgs/charlie/teams/only" });
      expect(await outcome(platform.tenants.deleteOrg({ name: "orgs/charlie" }))).toBe("ok");
      expect(await outcome(platform.tenants.getOrg({ name: "orgs/charlie" }))).toBe("NotFound");
      // A repeat after the delete does not resurrect it.
      expect(await outcome(platform.tenants.createOrg(request))).toBe("NotFound");
    });
  });
}

describe("on Postgres", () => describeTenancy("postgres"));
describe("on embedded PGlite", () => describeTenancy("pglite"));
