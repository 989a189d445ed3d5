import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor, outcome } from "../../test/support/clients.js";
import { startTestGateway } from "../../test/support/gateway.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { createDatabase, type DatabaseHandle } from "../store/database.js";
import { migrateToLatest } from "../store/migrate.js";
import { verifyChain } from "../audit/verify.js";
import { createAuditStore } from "../store/audit-store.js";
import { bootstrapAdminKey, BREAK_GLASS_ACTION } from "./bootstrap.js";
import { generateSecret, parseSecret } from "./key-format.js";
import { ALL_SCOPES, scopeName } from "./scopes.js";
import { hashSecret } from "./secret-hash.js";

const PEPPER = "bootstrap-test-pepper-0123456789abcdef";

describe("bootstrapAdminKey", () => {
  let database: TestDatabase;
  let replicas: DatabaseHandle[];
  beforeAll(async () => {
    database = await createTestDatabase();
    replicas = await Promise.all([1, 2, 3].map(() => createDatabase({ databaseUrl: database.url, pool: 2 })));
  });
  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.close()));
    await database?.drop();
  });

  it("creates exactly one admin key when three replicas start together on a fresh database", async () => {
    // Each replica starts as main.ts does: migrate, then bootstrap, all at once.
    const results = await Promise.all(
      replicas.map(async (replica) => {
        await migrateToLatest(replica.db);
        return bootstrapAdminKey({ db: replica.db, pepper: PEPPER });
      }),
    );
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    const secret = (created[0] as { secret?: string }).secret!;
    expect(parseSecret(secret)).toBeDefined();

    const db = replicas[0]!.db;
    const keys = await db.selectFrom("keys").selectAll().execute();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      name: "bootstrap",
      secret_hmac: hashSecret(secret, PEPPER),
      display_prefix: secret.slice(0, 12),
      state: "active",
    });
    expect(new Set(keys[0]!.scopes)).toEqual(new Set(ALL_SCOPES.map(scopeName)));
    expect(keys[0]!.scopes).toContain("SCOPE_PLATFORM_ADMIN");
    const { rows } = await sql<{ n: bigint }>`select count(*) as n from orgs where name = 'system'`.execute(db);
    expect(rows[0]!.n).toBe(1n);
    expect(JSON.stringify(keys)).not.toContain(secret);

    // Later starts find keys and do nothing, even when offered a key.
    expect(await bootstrapAdminKey({ db, pepper: PEPPER }, { secret: generateSecret() })).toEqual({ created: false });
    expect(await db.selectFrom("keys").select("id").execute()).toHaveLength(1);
  });

  it("installs a supplied key by its HMAC only and does not echo it", async () => {
    const fresh = await createTestDatabase();
    const handle = await createDatabase({ databaseUrl: fresh.url, pool: 1 });
    try {
      await migrateToLatest(handle.db);
      const supplied = generateSecret();
      expect(await bootstrapAdminKey({ db: handle.db, pepper: PEPPER }, { secret: supplied })).toEqual({ created: true });
      const row = await handle.db.selectFrom("keys").select(["secret_hmac"]).executeTakeFirstOrThrow();
      expect(row.secret_hmac).toBe(hashSecret(supplied, PEPPER));
      await expect(bootstrapAdminKey({ db: handle.db, pepper: PEPPER }, { secret: "sb_live_bad" })).rejects.toThrow(/well-formed/);
    } finally {
      await handle.close();
      await fresh.drop();
    }
  });
});

describe("the break-glass: SWITCHBOARD_BOOTSTRAP_KEY when no platform-admin key is left", () => {
  it("installs the supplied key once, audited, only when no admin key is active and the secret is new", async () => {
    const fresh = await createTestDatabase();
    const handles = await Promise.all([1, 2, 3].map(() => createDatabase({ databaseUrl: fresh.url, pool: 2 })));
    const db = handles[0]!.db;
    try {
      await migrateToLatest(db);
      const first = generateSecret();
      expect(await bootstrapAdminKey({ db, pepper: PEPPER }, { secret: first })).toEqual({ created: true });
      // While the bootstrap key is an active admin, a supplied key changes nothing.
      expect(await bootstrapAdminKey({ db, pepper: PEPPER }, { secret: generateSecret() })).toEqual({ created: false });

      // The only admin key lapses (set by hand: KeyService refuses to give it an expiry).
      await db.updateTable("keys").set({ expires_at: new Date(Date.now() - 1_000) }).execute();
      // No secret supplied: nothing is generated, nothing printed.
      expect(await bootstrapAdminKey({ db, pepper: PEPPER })).toEqual({ created: false });
      // The secret the lapsed key holds is not brought back.
      expect(await bootstrapAdminKey({ db, pepper: PEPPER }, { secret: first })).toEqual({ created: false, secretInUse: true });
      expect(await db.selectFrom("keys").select("id").execute()).toHaveLength(1);

      // A fresh secret, offered by three replicas starting together: exactly one installs it.
      const recovery = generateSecret();
      const results = await Promise.all(handles.map((h) => bootstrapAdminKey({ db: h.db, pepper: PEPPER }, { secret: recovery })));
      const recovered = results.filter((r) => r.created);
      expect(recovered).toHaveLength(1);
      const name = (recovered[0] as { recovered: string }).recovered;
      expect(name).toMatch(/^orgs\/system\/teams\/admins\/keys\/recovery-\d{14}$/);
      const row = await db.selectFrom("keys").selectAll().where("secret_hmac", "=", hashSecret(recovery, PEPPER)).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ name: name.split("/").pop(), state: "active", expires_at: null });
      expect(new Set(row.scopes)).toEqual(new Set(ALL_SCOPES.map(scopeName)));

      const audit = createAuditStore(db);
      const events = await audit.list({ action: BREAK_GLASS_ACTION }, { limit: 10 });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ resource: name, outcome: "success", actor: "" });
      expect(JSON.stringify(events[0]!.after)).not.toContain(recovery);
      expect((await verifyChain(audit)).intact).toBe(true);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
      await fresh.drop();
    }
  });
});

describe("three gateways starting together", () => {
  it("end with one bootstrap key, which only one of them offered", async () => {
    const fresh = await createTestDatabase();
    const offered = [generateSecret(), generateSecret(), generateSecret()];
    const gateways = await Promise.all(offered.map((adminKey) => startTestGateway({ databaseUrl: fresh.url, adminKey, pool: 2 })));
    try {
      const works = await Promise.all(
        gateways.map((gw, i) => outcome(clientsFor(gw.url, offered[i]!).keys.listKeys({ parent: "orgs/system/teams/-" }))),
      );
      expect(works.filter((w) => w === "ok")).toHaveLength(1);
      expect(works.filter((w) => w === "Unauthenticated")).toHaveLength(2);
      const winner = offered[works.indexOf("ok")]!;
      const { keys } = await clientsFor(gateways[0]!.url, winner).keys.listKeys({ parent: "orgs/system/teams/-", showInactive: true });
      expect(keys.map((k) => k.name)).toEqual(["orgs/system/teams/admins/keys/bootstrap"]);
    } finally {
      await Promise.all(gateways.map((gw) => gw.close()));
      await fresh.drop();
    }
  });
});
