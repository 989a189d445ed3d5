import type { PostgresPool, PostgresPoolClient } from "kysely";
import type pg from "pg";

/**
 * How much longer than the statement's own bound (`statement_timeout`) the client waits for an
 * answer before it presumes the connection dead. A live server cancels the statement itself and
 * says so (SQLSTATE 57014) within a round trip; silence past this margin means nobody is there.
 */
export const ANSWER_MARGIN_MS = 2_000;

/**
 * The kysely pool over a `pg` pool, with every query bounded on the client side: a query that gets
 * no answer within its statement's bound (the session's `statement_timeout`) plus
 * {@link ANSWER_MARGIN_MS} fails with `ETIMEDOUT` (unreachable: Unavailable, P8) and its
 * connection is closed, so the pool drops it and the next query opens a fresh one.
 *
 * Without this, a connection whose peer vanished silently (a frozen server, a partition, a failover
 * that moved the address) held its query forever, and with it whatever waited on it: the ledger's
 * flush, the snapshot polls (which skip a tick while one runs), the request-log flush. Only closing
 * the connection helps: pg's own `query_timeout` fails the query but leaves it active on the client,
 * which then goes back to the pool and makes every later query on it wait behind it.
 *
 * The bound follows the server's: the client reads the `set [local] statement_timeout` and
 * `reset statement_timeout` its session runs (the request log's retention sets 60 s for its
 * transaction; migrations set their own, `database.migrationTimeoutMs`), so work that asked Postgres for longer is never cut short here;
 * `0` (no statement bound) leaves only TCP keepalive to notice a dead peer.
 */
export function boundedPool(pool: pg.Pool, statementTimeoutMs: number): PostgresPool {
  const bounded = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let wrapped = bounded.get(client);
      if (wrapped === undefined) bounded.set(client, (wrapped = boundedClient(client, statementTimeoutMs)));
      return wrapped;
    },
    end: () => pool.end(),
  };
}

function boundedClient(client: pg.PoolClient, sessionDefaultMs: number): PostgresPoolClient {
  // What this session's statements are bounded to on the server, as far as its own statements set it.
  let sessionMs = sessionDefaultMs;
  let localMs: number | undefined;
  const query = async (text: string, values: ReadonlyArray<unknown>) => {
    const boundMs = localMs ?? sessionMs;
    let timedOut = false;
    const timer =
      boundMs > 0
        ? setTimeout(() => {
            timedOut = true;
            // With a query active, end() destroys the socket at once: the query fails, and the
            // client, no longer queryable, is removed by the pool when released.
            void client.end().catch(() => undefined);
          }, boundMs + ANSWER_MARGIN_MS)
        : undefined;
    try {
      const result = await client.query(text, values as unknown[]);
      track(text);
      return result;
    } catch (err) {
      if (!timedOut) throw err;
      throw Object.assign(
        new Error(`Postgres did not answer within ${boundMs + ANSWER_MARGIN_MS} ms (statement bound ${boundMs} ms); the connection is presumed dead and was closed`, { cause: err }),
        { code: "ETIMEDOUT" },
      );
    } finally {
      clearTimeout(timer);
    }
  };
  const track = (text: string): void => {
    const set = SET_STATEMENT_TIMEOUT.exec(text);
    if (set !== null) {
      const ms = durationMs(set[2] ?? set[3] ?? "");
      if (set[1] !== undefined) localMs = ms;
      else sessionMs = ms;
    } else if (RESET_STATEMENT_TIMEOUT.test(text)) {
      sessionMs = sessionDefaultMs;
    } else if (TRANSACTION_END.test(text)) {
      localMs = undefined;
    }
  };
  // Only kysely's (sql, parameters) form: its cursor form needs a `cursor` in the dialect's
  // config, which is not given (nothing streams from Postgres).
  return {
    query,
    release: (destroy?: boolean) => client.release(destroy === true),
  } as unknown as PostgresPoolClient;
}

const SET_STATEMENT_TIMEOUT = /^\s*set\s+(?:(local)\s+|session\s+)?statement_timeout\s*(?:=|to)\s*(?:'([^']*)'|(\S+?))\s*;?\s*$/i;
const RESET_STATEMENT_TIMEOUT = /^\s*reset\s+(?:statement_timeout|all)\s*;?\s*$/i;
/** Ends the transaction, and with it a `set local` (not `rollback to savepoint`, which keeps it). */
const TRANSACTION_END = /^\s*(?:commit|rollback|end|abort)\s*;?\s*$/i;

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A `statement_timeout` value in ms (Postgres's units; a bare number is ms). One this cannot read
 * counts as no bound: better to rely on keepalive alone than to cut short work that asked for longer.
 */
export function durationMs(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/i.exec(value);
  if (m === null) return 0;
  return Math.ceil(Number(m[1]) * UNIT_MS[(m[2] ?? "ms").toLowerCase()]!);
}
