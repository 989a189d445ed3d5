import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres.js";
import { requireEnv } from "../../test/support/require-env.js";
import { startTcpProxy } from "../../test/support/tcp-proxy.js";
import { createDatabase } from "./database.js";
import { MIGRATION_LOCK_KEY, MigrationTimeoutError, migrateToLatest } from "./migrate.js";

/** Whether a session waits for the migration lock, as Postgres's lock table shows it. */
async function lockWaiters<DB>(db: Kysely<DB>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`.execute(db);
  return rows[0]!.n;
}

/** Runs `work` while another session holds the migration lock; releases it afterwards. */
async function whileLockHeld<DB>(db: Kysely<DB>, work: (holder: Kysely<DB>) => Promise<void>): Promise<void> {
  await db.connection().execute(async (session) => {
    await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session);
    try {
      await work(session);
    } finally {
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session);
    }
  });
}

// The startup migrations ran on a session without a statement bound, so a migration lock held
// forever (a replica stuck mid-migration) or a server that accepted the connection and then went
// silent (SIGSTOP, a partition) kept the start waiting without end. They are bounded now
// (`timeoutMs`, SWITCHBOARD_DB_MIGRATION_TIMEOUT_MS), and the failure says what timed out.
describe("startup migrations on a database that does not let them proceed", () => {
  requireEnv("DATABASE_URL");
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("give up waiting for a migration lock held past the bound, naming DATABASE_URL and the lock, then succeed once it is free", async () => {
    const holder = await createDatabase({ databaseUrl: database.url, pool: 1 });
    const replica = await createDatabase({ databaseUrl: database.url, pool: 1 });
    try {
      await whileLockHeld(holder.db, async (session) => {
        const started = Date.now();
        const failure = await migrateToLatest(replica.db, { timeoutMs: 500 }).catch((e: unknown) => e);
        const tookMs = Date.now() - started;
        expect(failure).toBeInstanceOf(MigrationTimeoutError);
        const message = (failure as Error).message;
        expect(message).toContain("DATABASE_URL");
        expect(message).toContain("migration lock");
        expect(message).toContain("500 ms");
        expect(message).toContain("SWITCHBOARD_DB_MIGRATION_TIMEOUT_MS");
        expect(tookMs).toBeGreaterThanOrEqual(450);
        expect(tookMs).toBeLessThan(2_500);
        expect(await lockWaiters(session)).toBe(0);
      });
      // The session was given back as it was: the pool's statement bound, not the migration's.
      const { rows } = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(replica.db);
      expect(rows[0]?.statement_timeout).toBe("30s");
      const applied = await migrateToLatest(replica.db, { timeoutMs: 60_000 });
      expect(applied.length).toBeGreaterThan(0);
    } finally {
      await holder.close();
      await replica.close();
    }
  });

  it("give up on a server that stops answering while they wait, saying it did not answer", async () => {
    const fresh = await createTestDatabase();
    const target = new URL(fresh.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    const holder = await createDatabase({ databaseUrl: fresh.url, pool: 1 });
    const replica = await createDatabase({ databaseUrl: proxy.rewrite(fresh.url), pool: 1 });
    try {
      await whileLockHeld(holder.db, async (session) => {
        const started = Date.now();
        const migrating = migrateToLatest(replica.db, { timeoutMs: 1_000 }).catch((e: unknown) => e);
        // Frozen while it waits for the lock: the server's own cancel (after 1 s) never arrives.
        for (const end = Date.now() + 5_000; (await lockWaiters(session)) === 0; ) {
          if (Date.now() > end) throw new Error("the migration never waited for the lock");
          await new Promise((r) => setTimeout(r, 10));
        }
        await proxy.setMode("blackhole");
        const failure = await migrating;
        const tookMs = Date.now() - started;
        expect(failure).toBeInstanceOf(MigrationTimeoutError);
        const message = (failure as Error).message;
        expect(message).toContain("DATABASE_URL");
        expect(message).toContain("did not answer");
        expect(message).toContain("migration lock");
        expect(tookMs).toBeGreaterThanOrEqual(2_900);
        expect(tookMs).toBeLessThan(5_000);
      });
    } finally {
      await proxy.close();
      await holder.close();
      await replica.close();
      await fresh.drop();
    }
  });
});
