import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FileMigrationProvider, Migrator, sql, type Kysely, type MigrationResult } from "kysely";

/**
 * Session advisory-lock key held while migrating. Any constant works as long as nothing else in
 * the database uses it; this one spells "SWBDMIGR" in ASCII so it is recognisable in `pg_locks`.
 */
export const MIGRATION_LOCK_KEY = 0x535742444d494752n;

/** Options for {@link migrateToLatest}. */
export interface MigrateOptions {
  /** Absolute path of the folder of numbered migration files (default: the repo's `migrations/`). */
  migrationFolder?: string;
}

/**
 * Absolute path of the repo's `migrations/` folder, resolved from this file's location so it does
 * not depend on the working directory (kysely's `FileMigrationProvider` needs an absolute path).
 */
export function defaultMigrationFolder(): string {
  return fileURLToPath(new URL("../../migrations/", import.meta.url));
}

/** Thrown when a migration fails; names the failing migration and keeps the database error as `cause`. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  constructor(
    message: string,
    /** The migration kysely reported as failed, if it got that far. */
    readonly migrationName: string | undefined,
    /** kysely's per-migration report for this run (all rolled back when one failed). */
    readonly results: readonly MigrationResult[],
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Applies every pending migration in order and returns the names applied by this call (empty
 * when the schema was already current).
 *
 * Safe when several replicas start at once: the whole run — including kysely's creation of its
 * own bookkeeping tables, which races on a fresh database — happens on one dedicated session
 * holding `pg_advisory_lock(MIGRATION_LOCK_KEY)`, so the others wait and then find nothing to do.
 * Works the same on PGlite (a single session, where the lock is trivially uncontended). The
 * pending migrations run in one transaction (kysely's default for Postgres DDL), so a failure
 * applies none of this run's migrations; the error is a {@link MigrationError}.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>, opts: MigrateOptions = {}): Promise<string[]> {
  const migrationFolder = opts.migrationFolder ?? defaultMigrationFolder();
  if (!path.isAbsolute(migrationFolder)) {
    throw new Error(`migrationFolder must be an absolute path, got "${migrationFolder}"`);
  }
  const provider = new FileMigrationProvider({ fs, path, migrationFolder });

  return db.connection().execute(async (session) => {
    // No statement bound for this session (the pool's is 30 s): waiting for another replica's
    // migration and building an index on a large table may both take longer. The client follows
    // (`bounded-pool.ts`), leaving TCP keepalive to notice a dead peer while it waits.
    await sql`set statement_timeout = 0`.execute(session);
    try {
      return await migrateHoldingLock(session, provider, migrationFolder);
    } finally {
      await sql`reset statement_timeout`.execute(session);
    }
  });
}

/** The migration run proper, on `session`, under the migration lock. */
async function migrateHoldingLock<DB>(session: Kysely<DB>, provider: FileMigrationProvider, migrationFolder: string): Promise<string[]> {
  await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session);
  try {
    const { error, results = [] } = await new Migrator({ db: session, provider }).migrateToLatest();
    if (error !== undefined) {
      const failed = results.find((result) => result.status === "Error")?.migrationName;
      const detail = error instanceof Error ? error.message : String(error);
      const message = failed
        ? `migration "${failed}" failed: ${detail}`
        : `migrating ${migrationFolder} failed before any migration ran: ${detail}`;
      throw new MigrationError(message, failed, results, { cause: error });
    }
    return results.filter((result) => result.status === "Success").map((result) => result.migrationName);
  } finally {
    await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session);
  }
}
