import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FileMigrationProvider, Migrator, type Kysely } from "kysely";
import { afterAll, beforeAll } from "vitest";
import { createDatabase, type DatabaseHandle } from "../../server/store/database.js";
import { defaultMigrationFolder, migrateToLatest } from "../../server/store/migrate.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";

/** Options of {@link useMigratedDatabase}. */
export interface MigratedDatabaseOptions {
  /** `postgres` (default): a fresh database on `DATABASE_URL`'s server; `pglite`: an in-memory PGlite. */
  engine?: "postgres" | "pglite";
  /** The pool's size on Postgres (default 2). */
  pool?: number;
}

/**
 * A database of the latest schema for the test file (or `describe` block) that calls this at
 * its top level: created and migrated in a `beforeAll` registered here — so before the caller's
 * own `beforeAll`s, which may seed it — and closed and dropped in an `afterAll`. Returns its
 * handle's getter, valid from the caller's first hook on.
 */
export function useMigratedDatabase(opts: MigratedDatabaseOptions = {}): () => DatabaseHandle {
  let database: TestDatabase | undefined;
  let handle: DatabaseHandle | undefined;
  beforeAll(async () => {
    if (opts.engine !== "pglite") database = await createTestDatabase();
    handle = await createDatabase(database === undefined ? {} : { databaseUrl: database.url, pool: opts.pool ?? 2 });
    await migrateToLatest(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });
  return () => {
    if (handle === undefined) throw new Error("useMigratedDatabase: the database is made in a beforeAll hook; read it from a hook or a test");
    return handle;
  };
}

/**
 * Applies the repo's migrations up to and including `name` and no further: a database as a
 * release of that schema left it, to seed with what that release could write before a later
 * migration runs over it (`migrateToLatest`).
 */
export async function migrateUpTo<DB>(db: Kysely<DB>, name: string): Promise<void> {
  const provider = new FileMigrationProvider({ fs, path, migrationFolder: defaultMigrationFolder() });
  const { error } = await new Migrator({ db, provider }).migrateTo(name);
  if (error !== undefined) throw error;
}
