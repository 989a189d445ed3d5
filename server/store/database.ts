import { mkdir } from "node:fs/promises";
import { Kysely, PostgresDialect, type LogEvent } from "kysely";
import pg from "pg";
import { claimFolder, releaseFolder } from "../runtime/folder-lock.js";
import { withBaselineWasm } from "../runtime/baseline-wasm.js";
import { boundedPool } from "./bounded-pool.js";
import { createPGliteDialect } from "./pglite-dialect.js";
import type { Database } from "./schema.js";

/** Where the authoritative store lives; exactly one of the two is used. */
export interface DatabaseOptions {
  /** A `postgres://` URL. When set, the server path is used and `dataDir` is ignored. */
  databaseUrl?: string;
  /**
   * PGlite data folder for the embedded default (created if missing). `memory://` keeps
   * everything in memory (tests). Defaults to `memory://` when neither option is set.
   */
  dataDir?: string;
  /** Maximum pooled Postgres connections (default 10). PGlite always has exactly one. */
  pool?: number;
  /**
   * Postgres only: the longest a statement may run (the sessions' `statement_timeout`, default
   * 30 s; 0: none); a query with no answer this long plus a margin finds its connection dead, and
   * the connection is closed (`bounded-pool.ts`). Work that needs longer sets its own
   * `statement_timeout`. PGlite runs in the process: nothing there can go silent.
   */
  statementTimeoutMs?: number;
  /** Postgres only: the longest a query waits for a connection, to be made or freed (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * PGlite's `shared_buffers` in MB (default 16; Postgres's own default is 128). The buffers are
   * zeroed at start, so each MB is resident for the process's life; the data folder's files are
   * cached by the operating system as well, so a small pool costs little here.
   */
  sharedBuffersMb?: number;
  /**
   * Compile PGlite's WebAssembly with V8's optimising tier too (faster queries, ≈ 100 MB more
   * resident memory); default false: Liftoff alone (`server/runtime/baseline-wasm.ts`).
   */
  optimizedWasm?: boolean;
  /**
   * Called when an idle pooled connection fails (Postgres restarted, network cut). The pool drops
   * that connection and opens a new one on the next query. Either way, idle or in use, a dropped
   * connection never becomes an uncaught exception that ends the process — an outage must not
   * do that (P8).
   */
  onIdleError?: (err: Error) => void;
  /**
   * Told of every query once it ended (its SQL with placeholders, never the values; its duration;
   * its error), in the caller's async context — tracing makes a span of each.
   */
  onQuery?: (query: { sql: string; durationMs: number; error?: unknown }) => void;
}

/** An open database: the typed query builder plus what it runs on. */
export interface DatabaseHandle {
  /** Typed against {@link Database}; run `migrateToLatest` before relying on the tables. */
  db: Kysely<Database>;
  /** `postgres` for a server, `pglite` for the embedded in-process engine. */
  kind: "postgres" | "pglite";
  /** Ends the pool or closes PGlite after in-flight work finishes. Safe to call twice. */
  close(): Promise<void>;
}

/** PGlite's `shared_buffers` unless told otherwise (see {@link DatabaseOptions.sharedBuffersMb}). */
const DEFAULT_SHARED_BUFFERS_MB = 16;

/**
 * A statement's bound unless the config says otherwise. Far above any statement the gateway runs on
 * its paths (key lookups, ledger batches, snapshot polls: milliseconds), so only a stuck one is cut;
 * a dead connection is found this long (plus a margin) after its query was sent, and the next
 * tick of the work that used it opens a fresh one.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * The longest a query waits for a connection (made, or freed by another query). A new connection
 * answers in milliseconds, so this only ends waits on a server that does not answer.
 */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Idle time before TCP keepalive probes a connection: finds a peer gone (a partition, a host lost)
 * under an idle pooled connection before a query is put on it, and keeps NAT and firewall flow
 * state alive (a gateway at night can be quieter than their idle timeouts, e.g. 350 s).
 */
const KEEPALIVE_IDLE_MS = 10_000;

/** Postgres `int8` (bigint, `count(*)`, micro-USD amounts). */
const INT8_OID = 20;

/**
 * Opens the authoritative store: Postgres through a `pg` pool when `databaseUrl` is set,
 * otherwise PGlite (real PostgreSQL in WASM) in `dataDir`.
 *
 * Takes its configuration only from `opts` — `server/main.ts` is the one place that reads the
 * environment. Both engines decode `int8` as `bigint` (pg would give a string, PGlite a number
 * that silently loses precision above 2^53), so money and counts read back the same way on either
 * and line up with protobuf-es `int64` fields. PGlite start-up costs 1–3 s and ≈ 150 MB (16 MB
 * of shared buffers, Liftoff-compiled: see the options); share one handle per process (or per test file).
 */
export async function createDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  if (opts.databaseUrl) {
    const types = new pg.TypeOverrides();
    types.setTypeParser(INT8_OID, (value: string) => BigInt(value));
    const statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.pool ?? 10,
      types,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
      // Server-side bounds, so a live server always answers first (57014, connection kept) and the
      // client's own bound (bounded-pool.ts) only ends waits on a dead one. A transaction whose
      // client vanished mid-way would otherwise keep its locks until the server's keepalive (hours)
      // notices, and every fresh connection that needs those rows would wait out its bound again.
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs, idle_in_transaction_session_timeout: statementTimeoutMs } : {}),
    });
    pool.on("error", (err) => opts.onIdleError?.(err));
    // A connection that dies while checked out (mid-query or mid-transaction) makes its pg client
    // emit "error" with no listener attached (pg-pool listens only while the client is idle),
    // which would crash the process. The failure already reaches the caller as the query's
    // rejection, and pg-pool drops the broken client on release, so this listener only has to exist.
    pool.on("connect", (client) => client.on("error", () => undefined));
    return wrap(new Kysely<Database>({ dialect: new PostgresDialect({ pool: boundedPool(pool, statementTimeoutMs) }), ...logOption(opts) }), "postgres");
  }
  // Imported here, not at the top: a replica on Postgres never loads PGlite's Emscripten glue
  // (≈ 1 MB of V8 heap and its compiled code, for nothing).
  const { PGlite } = await import("@electric-sql/pglite");
  const sharedBuffersMb = opts.sharedBuffersMb ?? DEFAULT_SHARED_BUFFERS_MB;
  if (!Number.isInteger(sharedBuffersMb) || sharedBuffersMb < 1) throw new RangeError(`sharedBuffersMb must be a positive integer, got ${sharedBuffersMb}`);
  // PGlite creates the folder itself but not its parents: on a fresh clone `.data/pglite` has
  // neither, and the first `npm start` failed with ENOENT. A plain path (no `scheme://`) is a folder.
  const dataDir = opts.dataDir ?? "memory://";
  const onDisk = !dataDir.includes("://");
  if (onDisk) {
    await mkdir(dataDir, { recursive: true });
    // PGlite is a whole Postgres inside the process, and nothing in it notices another process on
    // the same files: a second gateway on the folder ran as a second, independent database, each
    // seeing only its own writes, and what it acknowledged (keys, usage rows, audit events) was
    // lost when the other wrote over it. One process per folder.
    await claimFolder(
      dataDir,
      DATA_DIR_LOCK,
      (holder) =>
        new Error(
          `the embedded database folder ${dataDir} is in use by process ${holder.pid} on ${holder.host}: PGlite serves one process; ` +
            "give each gateway its own database.dataDir (SWITCHBOARD_DATA_DIR), or run replicas on Postgres (DATABASE_URL)",
        ),
    );
  }
  const unlock = onDisk ? () => releaseFolder(dataDir, DATA_DIR_LOCK) : undefined;
  const create = () =>
    PGlite.create({
      dataDir,
      // PGlite's own start parameters plus ours; a command-line setting outranks postgresql.conf.
      startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${sharedBuffersMb}MB`],
      parsers: { [INT8_OID]: (value: string) => BigInt(value) },
    });
  let pglite: Awaited<ReturnType<typeof create>>;
  try {
    pglite = await (opts.optimizedWasm === true ? create() : withBaselineWasm(create));
  } catch (err) {
    await unlock?.();
    throw pgliteStartError(err, dataDir);
  }
  return wrap(new Kysely<Database>({ dialect: createPGliteDialect(pglite), ...logOption(opts) }), "pglite", unlock);
}

/** Emscripten's errno numbers (not the host's) of the failures a data folder can give, by name. */
const EMSCRIPTEN_ERRNO: Record<number, string> = {
  2: "EACCES (permission denied)",
  19: "EDQUOT (disk quota exceeded)",
  29: "EIO (input/output error)",
  31: "EISDIR (is a directory)",
  44: "ENOENT (no such file or directory)",
  51: "ENOSPC (no space left on device)",
  54: "ENOTDIR (not a directory)",
  63: "EPERM (operation not permitted)",
  69: "EROFS (read-only file system)",
};

/**
 * PGlite's file system fails with Emscripten's `ErrnoError`, a plain `{ name, errno }` object (no
 * message, not an `Error`): a full disk or an unwritable folder ended the start with
 * "failed to start: [object Object]". Named here, with the folder.
 */
function pgliteStartError(err: unknown, dataDir: string): unknown {
  if (err instanceof Error || typeof err !== "object" || err === null) return err;
  const errno = (err as { errno?: unknown }).errno;
  if (typeof errno !== "number") return err;
  return new Error(`the embedded database could not use its folder ${dataDir}: ${EMSCRIPTEN_ERRNO[errno] ?? `errno ${errno}`}`, { cause: err });
}

/** The lock file that marks a PGlite data folder as open by one process. */
const DATA_DIR_LOCK = "switchboard.lock";

function logOption(opts: DatabaseOptions): { log?: (event: LogEvent) => void } {
  const onQuery = opts.onQuery;
  if (onQuery === undefined) return {};
  return {
    log: (event) =>
      onQuery({ sql: event.query.sql, durationMs: event.queryDurationMillis, ...(event.level === "error" ? { error: event.error } : {}) }),
  };
}

function wrap(db: Kysely<Database>, kind: DatabaseHandle["kind"], unlock?: () => Promise<void>): DatabaseHandle {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    close() {
      closing ??= db.destroy().finally(() => unlock?.());
      return closing;
    },
  };
}
