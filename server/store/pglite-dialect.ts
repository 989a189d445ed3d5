import type { PGliteInterface } from "@electric-sql/pglite";
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from "kysely";

/**
 * A kysely `Dialect` over one PGlite instance (PostgreSQL compiled to WASM, in-process).
 *
 * kysely 0.28 ships no PGlite dialect; this one reuses kysely's Postgres adapter, introspector and
 * query compiler, so SQL generation is identical to the server path. PGlite is a single session:
 * two kysely transactions running at once would interleave their statements inside one
 * `BEGIN … COMMIT`. The driver therefore hands out its one connection to a single holder at a
 * time (FIFO), which makes transactions correct at the cost of serializing all database work.
 *
 * The dialect owns the instance: `Kysely#destroy()` waits for the current holder to release the
 * connection and then closes PGlite.
 */
export function createPGliteDialect(pglite: PGliteInterface): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => createPGliteDriver(pglite),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

/** Releases a lock taken by {@link createFifoLock}'s `acquire`. */
type Release = () => void;

/** A promise-chain mutex: `acquire` resolves once every earlier holder has released. */
function createFifoLock(): { acquire(): Promise<Release> } {
  let tail: Promise<void> = Promise.resolve();
  return {
    async acquire() {
      let release!: Release;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const previous = tail;
      tail = previous.then(() => held);
      await previous;
      return release;
    },
  };
}

function createPGliteDriver(pglite: PGliteInterface): Driver {
  const lock = createFifoLock();
  const connection = createPGliteConnection(pglite);
  let release: Release | undefined;
  let destroyed = false;

  return {
    async init() {
      await pglite.waitReady;
    },
    async acquireConnection() {
      const releaseLock = await lock.acquire();
      if (destroyed) {
        releaseLock();
        throw new Error("PGlite driver has been destroyed");
      }
      release = releaseLock;
      return connection;
    },
    async releaseConnection() {
      const current = release;
      release = undefined;
      current?.();
    },
    async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings) {
      let statement = "begin";
      if (settings.isolationLevel || settings.accessMode) {
        statement = "start transaction";
        if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
        if (settings.accessMode) statement += ` ${settings.accessMode}`;
      }
      await conn.executeQuery(CompiledQuery.raw(statement));
    },
    async commitTransaction(conn: DatabaseConnection) {
      const { rows } = await conn.executeQuery<{ command?: string }>(CompiledQuery.raw("commit"));
      // PostgreSQL answers COMMIT of an aborted transaction with a ROLLBACK tag instead of an error.
      if (rows[0]?.command === "ROLLBACK") {
        throw new Error("transaction was aborted by an earlier error and has been rolled back");
      }
    },
    async rollbackTransaction(conn: DatabaseConnection) {
      await conn.executeQuery(CompiledQuery.raw("rollback"));
    },
    async savepoint(conn: DatabaseConnection, name: string) {
      await conn.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
    },
    async rollbackToSavepoint(conn: DatabaseConnection, name: string) {
      await conn.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
    },
    async releaseSavepoint(conn: DatabaseConnection, name: string) {
      await conn.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
    },
    async destroy() {
      if (destroyed) return;
      const releaseLock = await lock.acquire();
      destroyed = true;
      try {
        await pglite.close();
      } finally {
        releaseLock();
      }
    },
  };
}

function createPGliteConnection(pglite: PGliteInterface): DatabaseConnection {
  async function executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await pglite.query<R>(compiled.sql, [...compiled.parameters], { rowMode: "object" });
    const command = result.command?.toUpperCase();
    if (command === "COMMIT" || command === "ROLLBACK") {
      // Same convention as kysely's PostgresConnection, so commitTransaction can detect aborts.
      return { rows: [{ command } as R] };
    }
    const counted = command === "INSERT" || command === "UPDATE" || command === "DELETE" || command === "MERGE";
    return {
      numAffectedRows: counted ? BigInt(result.rowCount ?? result.affectedRows ?? 0) : undefined,
      rows: result.rows,
    };
  }

  return {
    executeQuery,
    // PGlite runs in this process, so a server-side cursor saves no memory over running the query
    // once and yielding its rows in chunks; this keeps stream() usable without a transaction.
    async *streamQuery<R>(compiled: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
      if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
        throw new Error("chunkSize must be a positive integer");
      }
      const { rows } = await executeQuery<R>(compiled);
      for (let start = 0; start < rows.length; start += chunkSize) {
        yield { rows: rows.slice(start, start + chunkSize) };
      }
    },
  };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
