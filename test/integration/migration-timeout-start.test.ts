import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATION_LOCK_KEY } from "../../server/store/migrate.js";
import { startMain, type MainProcess } from "../support/main-process.js";
import { createTestDatabase } from "../support/postgres.js";

const running: MainProcess[] = [];
afterAll(() => {
  for (const r of running) r.child.kill("SIGKILL");
});

// A migration lock held forever (a replica stuck mid-migration) kept every other replica's start
// waiting without end and without a word. The wait is bounded (SWITCHBOARD_DB_MIGRATION_TIMEOUT_MS)
// and the start fails saying what it waited for, where, and which variable raises the bound.
describe("a start whose migrations wait past their bound", () => {
  it("fails (exit 1) naming DATABASE_URL, the migration lock and the variable, without a stack trace", async () => {
    const database = await createTestDatabase();
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
      const started = Date.now();
      const run = startMain({
        DATABASE_URL: database.url,
        SWITCHBOARD_KEY_PEPPER: "migration-timeout-pepper-0123456789abcdef",
        SWITCHBOARD_MASTER_KEY: randomBytes(32).toString("base64"),
        SWITCHBOARD_DB_MIGRATION_TIMEOUT_MS: "500",
      });
      running.push(run);
      expect(await run.exited).toBe(1);
      // The process's own start (tsx) takes a few seconds; the wait itself is the 500 ms.
      expect(Date.now() - started).toBeLessThan(20_000);
      const stderr = run.stderr();
      expect(stderr).toContain("switchboard: failed to start: the startup migrations gave up waiting for the migration lock");
      expect(stderr).toContain("DATABASE_URL");
      expect(stderr).toContain("after 500 ms");
      expect(stderr).toContain("SWITCHBOARD_DB_MIGRATION_TIMEOUT_MS");
      expect(stderr).not.toMatch(/^\s+at /m);
      // The database URL (with its password) is named, never printed.
      expect(stderr).not.toContain(database.url);
    } finally {
      await holder.end();
      await database.drop();
    }
  }, 30_000);
});
