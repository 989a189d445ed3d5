import { sql, type Insertable, type Kysely } from "kysely";
import { arrayBatchInsert, type EveryColumnListed } from "./array-batch.js";
import type { Database, RequestLogTable } from "./schema.js";

/** One row of `request_log`, as written. */
export type RequestLogRow = Insertable<RequestLogTable>;

/**
 * Transaction advisory-lock key of the partition maintenance, so one replica at a time runs it
 * ("SWBDRQLG" in ASCII, recognisable in `pg_locks`).
 */
export const REQUEST_LOG_LOCK_KEY = 0x535742445251_4c47n;

/** What one maintenance run did. */
export interface MaintenanceResult {
  /** False when another replica held the lock: this run did nothing. */
  ran: boolean;
  created: string[];
  dropped: string[];
}

/** Persistence of the request log: rows and the daily partitions that hold them. */
export interface RequestLogStore {
  /** Inserts rows in one statement. Rejects with SQLSTATE 23514 when a row's day has no partition. */
  insert(rows: readonly RequestLogRow[]): Promise<void>;
  /**
   * Under the maintenance lock (skipped when another replica holds it): creates the daily
   * partitions from the day of `now` through `aheadDays` later, and drops every partition whose
   * day ended more than `retentionDays` days before `now`'s day. Runs with `lock_timeout` and
   * `statement_timeout`, so it never queues behind long work for long.
   */
  maintain(opts: { now: Date; aheadDays: number; retentionDays: number }): Promise<MaintenanceResult>;
  /** The partitions there are, oldest first. */
  partitions(): Promise<Array<{ name: string; day: Date }>>;
  /** Bytes of every partition with its indexes and TOAST (`pg_total_relation_size`, summed). */
  totalBytes(): Promise<number>;
}

const PARTITION = /^request_log_p(\d{4})(\d{2})(\d{2})$/;

/** The columns `insert` writes, with the Postgres type of each (each travels as an array of it). */
const INSERT_COLUMNS = [
  ["created_at", "timestamptz"],
  ["request_id", "text"],
  ["org_id", "text"],
  ["team_id", "text"],
  ["key_id", "text"],
  ["verb", "text"],
  ["route", "text"],
  ["provider", "text"],
  ["model", "text"],
  ["code", "text"],
  ["stream", "boolean"],
  ["duration_ms", "integer"],
  ["ttft_ms", "integer"],
  ["input_tokens", "integer"],
  ["output_tokens", "integer"],
  ["cost_micros_usd", "bigint"],
  ["cache_status", "text"],
  ["attempts", "smallint"],
  ["mode", "text"],
  ["request", "jsonb"],
  ["response", "jsonb"],
] as const satisfies readonly (readonly [keyof RequestLogRow, string])[];
/** `request` and `response` are JSON text already (the sink bounds them): they travel as text and are cast. */
const insertRows = arrayBatchInsert("request_log", INSERT_COLUMNS, { castFromText: { request: "jsonb", response: "jsonb" } });

/** Compile-time check that `INSERT_COLUMNS` names every column of a row. */
const everyColumnListed: EveryColumnListed<RequestLogRow, typeof INSERT_COLUMNS> = true;
void everyColumnListed;

/** The partition of a UTC day: `request_log_p20250131`. */
export function partitionName(day: Date): string {
  return `request_log_p${day.toISOString().slice(0, 10).replace(/-/g, "")}`;
}

/** Midnight UTC of `t`'s day, plus `days`. */
export function utcDay(t: Date, days = 0): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + days));
}

/** Creates the store over `db` (migrated through 0008). */
export function createRequestLogStore(db: Kysely<Database>): RequestLogStore {
  const list = async (q: Kysely<Database>) => {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'request_log'::regclass`.execute(q);
    return rows
      .map((r) => ({ name: r.name, m: PARTITION.exec(r.name) }))
      .filter((r): r is { name: string; m: RegExpExecArray } => r.m !== null)
      .map(({ name, m }) => ({ name, day: new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) }))
      .sort((a, b) => a.day.getTime() - b.day.getTime());
  };
  return {
    async insert(rows) {
      if (rows.length === 0) return;
      await insertRows(db, rows);
    },
    maintain: (opts) =>
      db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_xact_lock(${sql.lit(REQUEST_LOG_LOCK_KEY)}) as got`.execute(trx);
        if (rows[0]?.got !== true) return { ran: false, created: [], dropped: [] };
        await sql`set local lock_timeout = '5s'`.execute(trx);
        await sql`set local statement_timeout = '60s'`.execute(trx);
        const existing = await list(trx);
        const have = new Set(existing.map((p) => p.name));
        const created: string[] = [];
        for (let d = 0; d <= opts.aheadDays; d++) {
          const day = utcDay(opts.now, d);
          const name = partitionName(day);
          if (have.has(name)) continue;
          const from = day.toISOString();
          const to = utcDay(day, 1).toISOString();
          // Names and bounds are made here from dates, never from input.
          await sql`create table if not exists ${sql.id(name)} partition of request_log for values from (${sql.lit(from)}) to (${sql.lit(to)})`.execute(trx);
          created.push(name);
        }
        // A partition is dropped once its whole day is older than the retention.
        const cutoff = utcDay(opts.now, -opts.retentionDays);
        const dropped: string[] = [];
        for (const p of existing) {
          if (utcDay(p.day, 1).getTime() > cutoff.getTime()) continue;
          await sql`drop table if exists ${sql.id(p.name)}`.execute(trx);
          dropped.push(p.name);
        }
        return { ran: true, created, dropped };
      }),
    partitions: () => list(db),
    async totalBytes() {
      const parts = await list(db);
      let total = 0;
      for (const p of parts) {
        const { rows } = await sql<{ bytes: bigint | number }>`select pg_total_relation_size(${sql.lit(p.name)}::regclass) as bytes`.execute(db);
        total += Number(rows[0]?.bytes ?? 0);
      }
      return total;
    },
  };
}
