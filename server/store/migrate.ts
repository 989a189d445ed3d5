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
  /**
   * The longest one statement of the run may take, waiting included — for the migration lock,
   * for a table lock — as the session's `statement_timeout` (default
   * {@link DEFAULT_MIGRATION_TIMEOUT_MS}; 0: no bound). A server that stops answering is given
   * up on this long plus `ANSWER_MARGIN_MS` (`bounded-pool.ts`). Either ends in a
   * {@link MigrationTimeoutError}.
   */
  timeoutMs?: number;
}

/**
 * The migration session's statement bound unless configured (`database.migrationTimeoutMs`): far
 * above the pool's 30 s, since waiting for another replica's migration and building an index on a
 * large table may both take minutes, yet not forever — a replica stuck holding the lock, or a
 * server frozen mid-run, ends the start with a {@link MigrationTimeoutError} instead of a hang.
 */
export const DEFAULT_MIGRATION_TIMEOUT_MS = 600_000;

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
 * Thrown when the run did not finish within its bound ({@link MigrateOptions.timeoutMs}): the message
 * names what timed out (the migration lock, a migration, a server gone silent) and what to do.
 */
export class MigrationTimeoutError extends Error {
  override readonly name = "MigrationTimeoutError";
}

/** What the run was doing, for a {@link MigrationTimeoutError}. */
type Step = "session" | "lock" | "migrations";

/**
 * Applies every pending migration in order and returns the names applied by this call (empty
 * when the schema was already current).
 *
 * Safe when several replicas start at once: the whole run — including kysely's creation of its
 * own bookkeeping tables, which races on a fresh database — happens on one dedicated session
 * holding `pg_advisory_lock(MIGRATION_LOCK_KEY)`, so the others wait and then find nothing to do.
 * Works the same on PGlite (a single session, where the lock is trivially uncontended). The
 * pending migrations run in one transaction (kysely's default for Postgres DDL), so a failure
 * applies none of this run's migrations; the error is a {@link MigrationError}, or a
 * {@link MigrationTimeoutError} when a statement passed `timeoutMs`.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>, opts: MigrateOptions = {}): Promise<string[]> {
  const migrationFolder = opts.migrationFolder ?? defaultMigrationFolder();
  if (!path.isAbsolute(migrationFolder)) {
    throw new Error(`migrationFolder must be an absolute path, got "${migrationFolder}"`);
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_MIGRATION_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) throw new RangeError(`timeoutMs must be a non-negative integer, got ${timeoutMs}`);
  const provider = new FileMigrationProvider({ fs, path, migrationFolder });
  const step: { at: Step } = { at: "session" };

  try {
    return await db.connection().execute(async (session) => {
      // The migration bound replaces the pool's (30 s) for this session; the client follows
      // (`bounded-pool.ts`), so a server that goes silent is given up on too.
      await sql`set statement_timeout = ${sql.lit(timeoutMs)}`.execute(session);
      return await thenCleanUp(
        () => migrateHoldingLock(session, provider, migrationFolder, step),
        () => sql`reset statement_timeout`.execute(session),
      );
    });
  } catch (err) {
    throw timeoutError(err, step.at, timeoutMs) ?? err;
  }
}

/**
 * `run()`, then `cleanUp()` however it ended. When `run` failed, a failing `cleanUp` does not hide
 * why: its session may be dead (given up on), and the lock and settings it would undo end with it.
 */
async function thenCleanUp<T>(run: () => Promise<T>, cleanUp: () => Promise<unknown>): Promise<T> {
  let result: T;
  try {
    result = await run();
  } catch (err) {
    await cleanUp().catch(() => undefined);
    throw err;
  }
  await cleanUp();
  return result;
}

/** The migration run proper, on `session`, under the migration lock. */
async function migrateHoldingLock<DB>(session: Kysely<DB>, provider: FileMigrationProvider, migrationFolder: string, step: { at: Step }): Promise<string[]> {
  step.at = "lock";
  await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session);
  step.at = "migrations";
  return thenCleanUp(async () => {
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
  }, () => sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(session));
}

/** Raise the bound with this (its config path: `database.migrationTimeoutMs`). */
const TIMEOUT_VARIABLE = "SWITCHBOARD_DB_MIGRATION_TIMEOUT_MS";

/**
 * `err` as a {@link MigrationTimeoutError} when a bound ended it — the server's (`statement_timeout`:
 * SQLSTATE 57014) or the client's (`ETIMEDOUT`, a server that did not answer) — else undefined.
 */
function timeoutError(err: unknown, step: Step, timeoutMs: number): MigrationTimeoutError | undefined {
  const cause = boundThatEnded(err);
  if (cause === undefined) return undefined;
  const failed = err instanceof MigrationError ? err.migrationName : undefined;
  const doing =
    step === "lock"
      ? `waiting for the migration lock (pg_advisory_lock ${MIGRATION_LOCK_KEY})`
      : step === "migrations"
        ? failed !== undefined
          ? `running migration "${failed}"`
          : "running the migrations"
        : "preparing the migration session";
  const message =
    cause === "silent"
      ? `the database at DATABASE_URL did not answer the startup migrations while ${doing}: ` +
        `the server may be frozen, overloaded or cut off (no answer within ${timeoutMs} ms plus a margin); check it and start again`
      : step === "lock"
        ? `the startup migrations gave up ${doing} on the database at DATABASE_URL after ${timeoutMs} ms: ` +
          "another replica is migrating, or a session holds the lock without migrating (see pg_locks, locktype 'advisory'). " +
          `If a replica's migration needs longer, raise ${TIMEOUT_VARIABLE} (0: no bound)`
        : `the startup migrations on the database at DATABASE_URL gave up ${doing}: a statement ran or waited (for a table lock: see pg_locks) ` +
          `longer than ${timeoutMs} ms; if it needs longer, raise ${TIMEOUT_VARIABLE} (0: no bound)`;
  return new MigrationTimeoutError(message, { cause: err });
}

/** Which bound ended `err`, looking through its causes: `statement` (the server's), `silent` (the client's), or none. */
function boundThatEnded(err: unknown): "statement" | "silent" | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "57014" && /statement timeout/.test(e.message)) return "statement";
    if (code === "ETIMEDOUT") return "silent";
  }
  return undefined;
}
