import { readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateUpTo } from "../../test/support/migrated-database.js";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { requireEnv } from "../../test/support/require-env.js";
import { createDatabase, type DatabaseHandle } from "./database.js";
import { defaultMigrationFolder, MIGRATION_LOCK_KEY, MigrationError, migrateToLatest } from "./migrate.js";

const FOUNDATION = "0001_foundation";
/** Every migration in `migrations/`, in order (each later issue adds one). */
const ALL = readdirSync(defaultMigrationFolder())
  .filter((file) => /^\d{4}_.*\.ts$/.test(file))
  .map((file) => file.replace(/\.ts$/, ""))
  .sort();

async function publicTables<DB>(db: Kysely<DB>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' order by table_name
  `.execute(db);
  return rows.map((row) => row.table_name);
}

/** The checks both engines must pass on a fresh database. */
function describeMigrations(open: () => Promise<DatabaseHandle>): void {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await open();
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("applies every migration to an empty database", async () => {
    expect(ALL.slice(0, 2)).toEqual([FOUNDATION, "0002_tenancy"]);
    expect(await migrateToLatest(handle.db)).toEqual(ALL);
    expect(await publicTables(handle.db)).toEqual(
      expect.arrayContaining(["kysely_migration", "kysely_migration_lock", "orgs", "teams", "keys", "idempotency_records"]),
    );
  });

  it("is a no-op when already current", async () => {
    expect(await migrateToLatest(handle.db)).toEqual([]);
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(handle.db);
    expect(rows.map((row) => row.name)).toEqual(ALL);
  });

  it("creates orgs and teams with their keys and defaults", async () => {
    const { db } = handle;
    await db.insertInto("orgs").values({ id: "org_1", name: "Acme" }).execute();
    await db.insertInto("teams").values({ id: "team_1", org_id: "org_1", name: "search" }).execute();
    const team = await db.selectFrom("teams").selectAll().where("id", "=", "team_1").executeTakeFirstOrThrow();
    expect(team.created_at).toBeInstanceOf(Date);
    await expect(db.insertInto("orgs").values({ id: "org_2", name: "Acme" }).execute()).rejects.toThrow();
    await expect(
      db.insertInto("teams").values({ id: "team_2", org_id: "org_1", name: "search" }).execute(),
    ).rejects.toThrow();
    await expect(
      db.insertInto("teams").values({ id: "team_3", org_id: "no_such_org", name: "x" }).execute(),
    ).rejects.toThrow();
    await db.insertInto("orgs").values({ id: "org_2", name: "Other" }).execute();
    await db.insertInto("teams").values({ id: "team_4", org_id: "org_2", name: "search" }).execute();
  });

  it("stores keys only as HMAC digests, in their team's org", async () => {
    const { db } = handle;
    const hmac = "a".repeat(64);
    const key = { id: "key_1", org_id: "org_1", team_id: "team_1", name: "ci", display_prefix: "sb_live_abcd", secret_hmac: hmac };
    await db.insertInto("keys").values(key).execute();
    const row = await db.selectFrom("keys").selectAll().where("id", "=", "key_1").executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: "active", scopes: [], tags: {}, previous_secret_hmac: null });
    // A raw secret (or anything but 64 lowercase hex digits) is refused by the schema itself.
    const secret = "sb_live_0123456789abcdefghijABCDEFGHIJ0123456789abcdefgh";
    await expect(db.insertInto("keys").values({ ...key, id: "key_2", name: "raw", secret_hmac: secret }).execute()).rejects.toThrow();
    // A key's org must be its team's org.
    await expect(
      db.insertInto("keys").values({ ...key, id: "key_3", name: "x", org_id: "org_2", secret_hmac: "b".repeat(64) }).execute(),
    ).rejects.toThrow();
    await expect(db.insertInto("keys").values({ ...key, id: "key_4", secret_hmac: "c".repeat(64) }).execute()).rejects.toThrow();
  });
}

/**
 * Dead letters written twice before 0010 made them idempotent (a batch retried after Postgres
 * dropped mid row-by-row retry): the migration keeps the first of each and can then index them.
 */
function describeDeadLetterDedupe(open: () => Promise<{ handle: DatabaseHandle; done(): Promise<void> }>): void {
  it("keeps the first of each duplicated dead letter when 0010 makes them unique", async () => {
    const { handle, done } = await open();
    try {
      await migrateUpTo(handle.db, ALL[ALL.indexOf(DEAD_LETTER_DIGEST) - 1]!);
      await sql`insert into usage_dead_letters (record, error) values
        ('{"callId":"c1"}', 'first'), ('not json', 'unreadable'), ('{"callId":"c1"}', 'again'), ('{"callId":"c2"}', 'other'), ('not json', 'unreadable')`.execute(handle.db);
      expect(await migrateToLatest(handle.db)).toEqual(ALL.slice(ALL.indexOf(DEAD_LETTER_DIGEST)));
      const kept = await handle.db.selectFrom("usage_dead_letters").select(["record", "error"]).orderBy("id").execute();
      expect(kept).toEqual([
        { record: '{"callId":"c1"}', error: "first" },
        { record: "not json", error: "unreadable" },
        { record: '{"callId":"c2"}', error: "other" },
      ]);
    } finally {
      await done();
    }
  });
}

const DEAD_LETTER_DIGEST = "0010_dead_letter_digest";

describe("migrateToLatest on PGlite", () => {
  describeMigrations(() => createDatabase({ dataDir: "memory://" }));
  describeDeadLetterDedupe(async () => {
    const handle = await createDatabase({ dataDir: "memory://" });
    return { handle, done: () => handle.close() };
  });
});

describe("migrateToLatest on Postgres", () => {
  requireEnv("DATABASE_URL");
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  describe("single replica", () => {
    describeMigrations(() => createDatabase({ databaseUrl: database.url, pool: 2 }));
  });

  describeDeadLetterDedupe(async () => {
    const fresh = await createTestDatabase();
    const handle = await createDatabase({ databaseUrl: fresh.url, pool: 1 });
    return {
      handle,
      async done() {
        await handle.close();
        await fresh.drop();
      },
    };
  });

  it("applies each migration exactly once when three replicas start together", async () => {
    const fresh = await createTestDatabase();
    const replicas = await Promise.all([1, 2, 3].map(() => createDatabase({ databaseUrl: fresh.url, pool: 2 })));
    try {
      const applied = await Promise.all(replicas.map((replica) => migrateToLatest(replica.db)));
      expect(applied.flat()).toEqual(ALL);
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(replicas[0]!.db);
      expect(rows.map((row) => row.name)).toEqual(ALL);
      expect(await publicTables(replicas[1]!.db)).toEqual(expect.arrayContaining(["orgs", "teams"]));
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
      await fresh.drop();
    }
  });

  it("waits for the migration advisory lock held by another session", async () => {
    const fresh = await createTestDatabase();
    const holder = await createDatabase({ databaseUrl: fresh.url, pool: 1 });
    const replica = await createDatabase({ databaseUrl: fresh.url, pool: 1 });
    try {
      await holder.db.connection().execute(async (session) => {
        await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session);
        let finished = false;
        const migrating = migrateToLatest(replica.db).then((applied) => {
          finished = true;
          return applied;
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(finished).toBe(false);
        expect(await publicTables(session)).not.toContain("kysely_migration");
        await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session);
        expect(await migrating).toEqual(ALL);
      });
    } finally {
      await holder.close();
      await replica.close();
      await fresh.drop();
    }
  });

  it("names the failing migration and applies none of that run", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "sb-migrations-"));
    const fresh = await createTestDatabase();
    const handle = await createDatabase({ databaseUrl: fresh.url, pool: 1 });
    try {
      // Plain JS files with no imports: they only use the `db` kysely passes in.
      await writeFile(
        path.join(folder, "0001_ok.mjs"),
        `export async function up(db) { await db.schema.createTable("first").addColumn("id", "text").execute(); }\n`,
      );
      await writeFile(
        path.join(folder, "0002_broken.mjs"),
        `export async function up(db) { await db.schema.alterTable("missing").addColumn("x", "text").execute(); }\n`,
      );
      const failure = await migrateToLatest(handle.db, { migrationFolder: folder }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(MigrationError);
      expect((failure as MigrationError).migrationName).toBe("0002_broken");
      expect((failure as Error).message).toMatch(/migration "0002_broken" failed: .*missing/);
      expect(await publicTables(handle.db)).not.toContain("first");
      await expect(migrateToLatest(handle.db, { migrationFolder: "relative/path" })).rejects.toThrow(/absolute/);
    } finally {
      await handle.close();
      await fresh.drop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
